#!/bin/sh
# Installs what the clock tests need from Debian's packages: libfaketime
# (`faketime`), to step a writer's or a checker's wall clock, and unshare
# (util-linux), for a time namespace. Elsewhere the clock tests report
# themselves skipped.
exec sh "$(dirname "$0")/../apt-need.sh" "clock tests" faketime:faketime unshare:util-linux
