#!/bin/sh
# Runs its arguments (nginx) with, beside them, a loop that keeps nginx's
# shared access log bounded: every ROTATE_CHECK_SECONDS, once the log has
# reached ROTATE_MAX_BYTES, it is renamed to <log>.1 (replacing the one
# before: one old file is kept) and nginx is told to reopen its logs.
#
# This is rotation by rename, logrotate's default with nginx, which
# `oscheck ship` follows without losing or repeating a line: it reads the
# renamed file to its end, until nginx's workers have reopened and it has
# been quiet for a second, then the new file from its start (README,
# Shipping nginx logs; cmd/oscheck/internal/tail). At most ROTATE_MAX_BYTES
# plus one check's worth of lines in each of the two files.
#
# Kafka Connect's FileStreamSource does not follow a renamed file (it keeps
# reading the old one): with Connect as the shipper (docker-compose.yml's
# reference profile), ROTATE_MAX_BYTES=0 turns rotation off.
#
# The nginx image's shell is BusyBox sh; nothing here needs more than POSIX
# sh and stat -c. The script runs as the container's command (the image's
# entrypoint execs it), and execs nginx, which stays PID 1 and gets Docker's
# stop signal itself.
set -u
log=${ROTATE_LOG_FILE:?the access log to rotate}
max=${ROTATE_MAX_BYTES:?bytes after which the log is rotated; 0: never}
every=${ROTATE_CHECK_SECONDS:-30}

if [ "$max" -gt 0 ]; then
	while sleep "$every"; do
		if [ ! -e "$log" ]; then
			# renamed, but the reopen failed: nginx still writes to the old file
			nginx -s reopen
		elif [ "$(stat -c %s "$log")" -ge "$max" ]; then
			mv -f "$log" "$log.1" && nginx -s reopen
		fi
	done &
fi
exec "$@"
