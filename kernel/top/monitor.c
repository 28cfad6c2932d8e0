/*
 * kernel/top/monitor.c - the monitor's loop, line editor and command dispatch (see monitor.h).
 */
#include "kernel/top/monitor.h"

#include <stdbool.h>
#include <stddef.h>

#include "kernel/platform/console.h"
#include "kernel/top/monitor_commands.h"
#include "kernel/base/platform.h"
#include "kernel/platform/power.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"

#define PROMPT "rvmem> "
#define CONTROL(letter) ((letter) - '@')
#define DELETE 0x7f
#define ESCAPE 0x1b
/* hart_relax() rounds to wait for the terminal's answer to the size probe (~0.3 s at 10 MHz). */
#define PROBE_ROUNDS 30000
#define DEFAULT_COLUMNS 80

static unsigned console_columns = DEFAULT_COLUMNS;

unsigned monitor_columns(void)
{
    return console_columns;
}

static void echo(const char *text)
{
    console_write(text, strlen(text));
}

/* The next input byte; sleeps (wfi until the hart's timer) while none is waiting. */
static int wait_for_byte(unsigned long max_rounds)
{
    for (unsigned long round = 0; max_rounds == 0 || round < max_rounds; round++) {
        int c = console_getchar();
        if (c >= 0)
            return c;
        hart_relax();
    }
    return -1;
}

/*
 * Asks the terminal for its width: move the cursor far right, ask where it is (ESC [ 6 n) and
 * read "ESC [ row ; column R". A terminal that does not answer (a pipe, a test) leaves 80.
 */
static void probe_columns(void)
{
    echo("\0337\033[999C\033[6n\0338");
    char answer[24];
    unsigned length = 0;
    int c;
    while (length + 1 < sizeof answer && (c = wait_for_byte(PROBE_ROUNDS)) >= 0 && c != 'R')
        answer[length++] = (char)c;
    answer[length] = '\0';
    const char *column = strchr(answer, ';');
    if (!column)
        return;
    unsigned value = 0;
    for (column++; *column >= '0' && *column <= '9' && value < 10000; column++)
        value = value * 10 + (unsigned)(*column - '0');
    if (value >= 40)
        console_columns = value;
}

struct line_editor {
    char text[MONITOR_LINE_MAX + 1];
    unsigned length;
    bool too_long;   /* characters were dropped: the line is refused */
    bool after_cr;   /* the last byte was CR: a following LF is part of the same Enter */
    int escape_step; /* 0: none; 1: after ESC; 2: inside ESC [ ... (until a final byte) */
};

static void erase_one(struct line_editor *editor)
{
    if (editor->length) {
        editor->length--;
        echo("\b \b");
    }
}

/* Feeds one byte; returns true when the line is complete (Enter or Ctrl-C). */
static bool edit(struct line_editor *editor, int c)
{
    bool after_cr = editor->after_cr;
    editor->after_cr = c == '\r';
    if (editor->escape_step == 1) {
        editor->escape_step = (c == '[' || c == 'O') ? 2 : 0;
        return false;
    }
    if (editor->escape_step == 2) {
        if (c >= 0x40 && c <= 0x7e)
            editor->escape_step = 0;
        return false;
    }
    if (c == '\n' && after_cr)
        return false;
    if (c == '\r' || c == '\n') {
        echo("\n");
        return true;
    }
    if (c == DELETE || c == '\b') {
        erase_one(editor);
    } else if (c == CONTROL('U')) {
        while (editor->length)
            erase_one(editor);
        editor->too_long = false;
    } else if (c == CONTROL('C')) {
        echo("^C\n");
        editor->length = 0;
        editor->too_long = false;
        return true;
    } else if (c == ESCAPE) {
        editor->escape_step = 1;
    } else if (c >= ' ' && c < DELETE) {
        if (editor->length < MONITOR_LINE_MAX) {
            editor->text[editor->length++] = (char)c;
            char single[2] = {(char)c, '\0'};
            echo(single);
        } else {
            editor->too_long = true;
            echo("\a");
        }
    }
    return false;
}

enum monitor_status monitor_run_line(char *line)
{
    char *words[MONITOR_WORDS_MAX];
    int count = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (count == MONITOR_WORDS_MAX) {
            kprintf("error: more than %d words\n", MONITOR_WORDS_MAX);
            return MONITOR_BAD_USAGE;
        }
        words[count++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    if (count == 0)
        return MONITOR_DONE;
    const struct monitor_command *command = monitor_find_command(words[0]);
    if (!command) {
        kprintf("error: unknown command \"%s\" (type help)\n", words[0]);
        return MONITOR_BAD_USAGE;
    }
    enum monitor_status status = monitor_command_run(command, count, words);
    if (status == MONITOR_BAD_USAGE)
        kprintf("error: usage: %s\n", command->usage);
    stack_check("monitor command");
    return status;
}

int monitor_main(void)
{
    probe_columns();
    kprintf("\nrvmem monitor: type help for the commands, tour for the guided tour (quit QEMU: Ctrl-A x)\n");
    struct line_editor editor;
    memset(&editor, 0, sizeof editor);
    for (;;) {
        bool after_cr = editor.after_cr; /* CR LF ending the last line must not end this one too */
        memset(&editor, 0, sizeof editor);
        editor.after_cr = after_cr;
        echo(PROMPT);
        while (!edit(&editor, wait_for_byte(0)))
            ;
        if (editor.too_long) {
            kprintf("error: line longer than %d characters, ignored\n", MONITOR_LINE_MAX);
            continue;
        }
        editor.text[editor.length] = '\0';
        if (monitor_run_line(editor.text) == MONITOR_POWEROFF)
            return EXIT_PASS;
    }
}
