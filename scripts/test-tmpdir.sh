#!/usr/bin/env bash
# Where `make test` and `make test-fast` put the tests' temporary folders: prints /dev/shm when it is a memory
# file system (tmpfs) this user can write with MIN_FREE_MB free, else nothing (the system's default, /tmp).
#
# Why: the tests write hundreds of small DuckDB warehouses (and Prefect's SQLite databases), and every commit and
# checkpoint waits for its sync to disk. On tmpfs, alternated with a disk: `make test-fast` 60-73 s against 69-80 s,
# the whole suite 415 s against 474 s (bench/README.md, twentieth round). A process killed mid-write (the crash
# tests) leaves the same file on either: the kernel holds what was written. A TMPDIR already set wins.
set -euo pipefail
MIN_FREE_MB=${MIN_FREE_MB:-4096}  # the whole suite held at most about 520 MB there (passing tests' folders removed)
folder=/dev/shm
[[ -z "${TMPDIR:-}" ]] || exit 0
[[ -d $folder && -w $folder ]] || exit 0
[[ $(stat -f -c %T "$folder") == tmpfs ]] || exit 0
free_mb=$(df -P -m "$folder" | awk 'NR == 2 {print $4}')
(( free_mb >= MIN_FREE_MB )) || exit 0
echo "$folder"
