"""`mock-api serve --workers N`: N emulator processes behind Debian's nginx, each session pinned to one."""
