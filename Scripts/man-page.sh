#!/usr/bin/env bash
# Prints deltagen(1) in troff: `deltagen --help`, then `deltagen help SUB` for every
# subcommand the top-level help lists, each as literal text under its own heading, so the
# man page says exactly what --help says.
#
# Usage: Scripts/man-page.sh DELTAGEN VERSION
set -euo pipefail
bin=$1 version=$2
# Literal text in troff: escape backslashes; a line starting with . or ' would be a request.
literal() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
subcommands=$("$bin" --help | awk '/^SUBCOMMANDS:/ { on = 1; next } on && /^  [a-z][a-z-]+ / { print $1 }')
[ -n "$subcommands" ] || { echo "man-page: no subcommands in $bin --help" >&2; exit 1; }
cat <<HEAD
.TH DELTAGEN 1 "" "deltagen $version" "User Commands"
.SH NAME
deltagen \\- generate, inspect and plan OSTree static deltas
.SH SYNOPSIS
.B deltagen
.I subcommand
.RI [ options ]
.SH DESCRIPTION
The sections below are the texts of
.B deltagen \\-\\-help
and
.BR "deltagen help" " " \\fIsubcommand\\fR.
.SS deltagen
.nf
HEAD
"$bin" --help | literal
echo ".fi"
for sub in $subcommands; do
  echo ".SS \"deltagen $sub\""
  echo ".nf"
  "$bin" help "$sub" | literal
  echo ".fi"
done
