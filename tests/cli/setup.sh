#!/bin/sh
# Installs what the command-line tests need from Debian's packages: man-db
# and groff-base, to render `lifesign man` with `man -l`, and zsh and fish,
# to parse the completions for them (tests/cli.rs).
exec sh "$(dirname "$0")/../apt-need.sh" "cli tests" man:man-db groff:groff-base zsh:zsh fish:fish
