/* mailferry - entry points of the wizard (src/ui), for main and the CLI */
#ifndef MF_UI_H
#define MF_UI_H

/* ncurses version string, e.g. "ncurses 6.4.20221231" (only with the TUI). */
const char *ui_curses_version(void);

#endif
