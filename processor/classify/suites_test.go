package classify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
	"go.yaml.in/yaml/v3"
)

// suiteCase is a case of uap-core's OS test suites (testdata/uap-core,
// sources in testdata/SOURCES.md): a User-Agent and the os family
// uap-core's regexes.yaml must give it.
type suiteCase struct {
	UA     string `yaml:"user_agent_string"`
	Family string `yaml:"family"`
}

func loadSuites(tb testing.TB) []suiteCase {
	tb.Helper()
	var all []suiteCase
	for _, name := range []string{"test_os.yaml", "additional_os_tests.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "uap-core", name))
		if err != nil {
			tb.Fatal(err)
		}
		var doc struct {
			Cases []suiteCase `yaml:"test_cases"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		all = append(all, doc.Cases...)
	}
	return all
}

// suiteBucket is the bucket a suite case must be in, and false where its
// family names no one bucket: "Other" (ua-parser names no OS), and the
// HbbTV televisions that ua-parser names by maker, whose OS may be Linux,
// Tizen, webOS or Android TV.
func suiteBucket(family string) (string, bool) {
	switch family {
	case "Other", "Samsung", "Sony", "LG", "Panasonic", "Philips", "FireHbbTV":
		return "", false
	}
	return familyBucket(family), true
}

// suiteDepartures are the suite cases whose bucket is ours on purpose: a
// crawler is a bot whatever OS it names (ua-parser's device parser calls
// each of these a Spider too; the suites test the OS alone).
var suiteDepartures = map[string]string{
	"Mozilla/5.0 (X11; Datanyze; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.3325.181 Safari/537.36":         Bot,
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko; Google Web Preview) Chrome/27.0 .1453 Safari/537.36.": Bot,
}

// uapGoLags are the suite cases that the uap-go in go.mod gets wrong,
// because its copy of regexes.yaml is not the suites' snapshot: an os
// family the suites map to a bucket, and uap-go's answer.
var uapGoLags = map[string]string{
	"Roku/DVP-5.0 (025.00E08043A)": MacOS, // uap-go: Roku is "Mac OS X"; the suites: Roku
	"Roku/DVP-5.1 (025.01E01195A)": MacOS,
	"Roku/DVP-6.2 (096.02E06005A)": MacOS,
	// uap-go has no expression for the AWS SDKs' "os/macos" and "md/GOOS/darwin".
	"Boto3/1.28.62 md/Botocore#1.31.62 ua/2.0 os/macos#22.4.0 md/arch#arm64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.62":                                                                                                             Other,
	"APN/1.0 HashiCorp/1.0 Terraform/1.8.1 (+https://www.terraform.io) terraform-provider-aws/4.67.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.18.0 os/macos lang/go/1.19.8 md/GOOS/darwin md/GOARCH/arm64 api/identitystore/1.16.11": Other,
}

const minSuiteAgreement = 0.99

// TestAgreesWithUAPCoreSuites holds the classifier to uap-core's own OS
// test suites: at least 99% of the cases whose family names a bucket, and
// every case it differs on listed in suiteDepartures. It holds uap-go to
// them as well, so that a uap-go whose expressions change shows here, not
// only as a changed corpus agreement: uapGoLags lists where it differs.
func TestAgreesWithUAPCoreSuites(t *testing.T) {
	cases := loadSuites(t)
	p, err := uaparser.New(uaparser.WithMode(uaparser.EOsLookUpMode))
	if err != nil {
		t.Fatal(err)
	}
	c := New()
	n, agree, uapAgree := 0, 0, 0
	for _, tc := range cases {
		want, ok := suiteBucket(tc.Family)
		if !ok {
			continue
		}
		n++
		got := c.OSType(nil, []byte(tc.UA))
		dep, departs := suiteDepartures[tc.UA]
		switch {
		case got == want:
			agree++
			if departs {
				t.Errorf("%q: we agree with the suites on %s now; the departure to %s is stale", tc.UA, want, dep)
			}
		case !departs:
			t.Errorf("ours %s, uap-core's suites %s (%s): %q", got, want, tc.Family, tc.UA)
		case got != dep:
			t.Errorf("%q: ours %s, the departure says %s", tc.UA, got, dep)
		}
		theirs := familyBucket(p.ParseOs(tc.UA).Family)
		lag, lags := uapGoLags[tc.UA]
		switch {
		case theirs == want:
			uapAgree++
			if lags {
				t.Errorf("%q: uap-go agrees with the suites on %s now; drop it from uapGoLags", tc.UA, want)
			}
		case !lags || theirs != lag:
			t.Errorf("uap-go %s, uap-core's suites %s (%s): %q; uap-go's expressions changed", theirs, want, tc.Family, tc.UA)
		}
	}
	if n < 400 {
		t.Fatalf("%d suite cases map to a bucket, want at least 400", n)
	}
	overall := float64(agree) / float64(n)
	t.Logf("uap-core OS suites: we agree on %.2f%% (%d of %d cases that map to a bucket), uap-go on %.2f%%",
		100*overall, agree, n, 100*float64(uapAgree)/float64(n))
	if overall < minSuiteAgreement {
		t.Errorf("agreement with uap-core's suites %.2f%%, want at least %.0f%%", 100*overall, 100*minSuiteAgreement)
	}
}
