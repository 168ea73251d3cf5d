document.title = "oscheck demo shop";
