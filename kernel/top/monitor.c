/*
 * kernel/top/monitor.c - the monitor's loop, line editor and command dispatch (see monitor.h).
 */
#include "kernel/top/monitor.h"

#include <stdbool.h>
#include <stddef.h>

#include "kernel/platform/console.h"
#include "kernel/top/monitor_commands.h"
#include "kernel/top/terminal.h"
#include "kernel/base/platform.h"
#include "kernel/platform/power.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"

#define PROMPT "rvmem> "
#define CONTROL(letter) ((letter) - '@')
#define DELETE 0x7f
#define ESCAPE 0x1b

static void echo(const char *text)
{
    console_write(text, strlen(text));
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
    terminal_probe_columns();
    kprintf("\nrvmem monitor: type help for the commands, tour for the guided tour (quit QEMU: Ctrl-A x)\n");
    struct line_editor editor;
    memset(&editor, 0, sizeof editor);
    for (;;) {
        bool after_cr = editor.after_cr; /* CR LF ending the last line must not end this one too */
        memset(&editor, 0, sizeof editor);
        editor.after_cr = after_cr;
        echo(PROMPT);
        while (!edit(&editor, terminal_read_byte(0)))
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
