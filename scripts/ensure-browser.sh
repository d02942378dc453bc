#!/usr/bin/env bash
# The dashboard tests (tests/ui) and `make screenshots` drive Debian's chromium through Playwright; Playwright's
# own browser download (`playwright install`) is never used. Install chromium with apt-get when it is missing.
set -u
CHROMIUM="${SIGNWATCH_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "chromium is missing and cannot be installed here (needs apt-get as root): the dashboard tests will skip" >&2
  exit 0
fi
echo "installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
  || echo "could not install chromium: the dashboard tests will skip" >&2
exit 0
