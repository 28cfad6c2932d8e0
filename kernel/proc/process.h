/*
 * kernel/proc/process.h - processes and their threads: the table, the run queue, and a process's
 * life from spawn to the wait that reaps it.
 *
 * A process is a program running in its own address space (kernel/proc/user_space.h) with one
 * or more threads (at most USER_PROCESS_THREADS_MAX at once: its main thread, id
 * USER_MAIN_THREAD_ID, and those thread_create started, kernel/proc/thread.h); the threads are
 * what the scheduler runs, on any hart, several of one process at once. Every process has
 * a parent: another process, or the kernel (PROCESS_PARENT_KERNEL: the test runner, the monitor,
 * the tour, the benchmarks). A process that ends stays in the table as a zombie, holding no page,
 * until its parent waits for it, or until its parent ends (an orphan is freed as it ends); a
 * detached child of the kernel (the monitor's run) is freed as it ends, with a line on the console.
 * PROCESS_MAX processes at once, zombies included: spawn beyond that is -E_AGAIN.
 *
 * A thread's life: RUNNABLE (in the run queue) -> RUNNING (on a hart: in U-mode, or in the kernel
 * on its behalf) -> it leaves the hart (a yield, the end of its time slice, a wait that blocks, its
 * end) -> RUNNABLE, BLOCKED or DONE. Which of them is decided in process_thread_left, called by
 * the hart after the thread's registers are saved, so that no other hart can pick a thread up
 * before it is off its last one. A wake-up that comes while the thread is still RUNNING (a child
 * that ended while its parent was on its way to block) is remembered (wake_pending) and turns the
 * block into RUNNABLE. A blocking system call restarts when the thread runs again (its pc is left
 * on the ecall), so a spurious wake-up is harmless.
 *
 * The end of a process. A process ends when it is killed, when one of its threads calls exit
 * (the status is exit's), or when its last thread calls thread_exit (the status is that
 * thread's value & 0xff). From then on it is "ending" (process_ending): each of its threads leaves
 * for good: a RUNNING one gets an IPI and leaves at its next trap (kernel/proc/user_trap.c), a
 * BLOCKED one (in wait, thread_join or futex_wait) is made RUNNABLE, and a RUNNABLE one is ended
 * by the hart that picks it next, without running. The last thread to leave gives the address
 * space back (every thread stack with it) and makes the process a zombie. Faults the kernel does
 * not serve kill the process on the spot (kernel/proc/user_trap.c). A killed process's report
 * line (process_report_kill) says why, and the parent's wait sees the cause.
 *
 * Locking: one lock (internal) over the table, the run queue and the threads' states and links;
 * the process lock is taken before a space's lock (kernel/proc/user_space.h), never after.
 */
#ifndef RVMEM_KERNEL_PROC_PROCESS_H
#define RVMEM_KERNEL_PROC_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/user_abi.h"
#include "kernel/platform/trap.h"
#include "kernel/proc/user_space.h"

/* Processes at once, zombies included. */
#define PROCESS_MAX 32
/* The heap limit of a process when its spawner names none. */
#define PROCESS_HEAP_LIMIT_DEFAULT ((uintptr_t)64 << 20)
/* A thread runs at most this long before another runnable thread gets the hart. */
#define PROCESS_SLICE_MICROSECONDS 10000
/* The parent of a process the kernel itself started. */
#define PROCESS_PARENT_KERNEL NULL
/* Any hart may run the thread. */
#define PROCESS_ANY_HART (-1)

/* UNUSED: a free slot of the process's threads; DONE: ended, its slot and stack kept until joined. */
enum thread_state { THREAD_UNUSED, THREAD_NEW, THREAD_RUNNABLE, THREAD_RUNNING, THREAD_BLOCKED, THREAD_DONE };

/* Why a thread left user_enter (set by the trap handler, acted on by process_thread_left). */
enum thread_leave {
    THREAD_LEAVE_NONE,
    THREAD_LEAVE_YIELD,
    THREAD_LEAVE_BLOCK,
    THREAD_LEAVE_EXIT,        /* exit: the whole process ends */
    THREAD_LEAVE_THREAD_EXIT, /* thread_exit: this thread ends (the process with it if it is the last) */
    THREAD_LEAVE_KILLED
};

enum process_state { PROCESS_FREE, PROCESS_LIVE, PROCESS_ZOMBIE };

/* Why the kernel killed a process: what its report says (process_report_kill). */
struct process_kill {
    int cause;         /* USER_KILL_* (0: not killed) */
    uintptr_t scause;  /* the trap, when a trap killed it (0 otherwise) */
    uintptr_t address; /* stval: the faulting address */
    uintptr_t pc;      /* where the program was */
    enum user_region region;
    bool out_of_memory;                  /* no page for a page it was entitled to (USER_KILL_REQUESTED) */
    long thread_id;                      /* the thread that faulted (0: killed on request) */
    struct user_thread_stack stack_slot; /* region THREAD_STACK or THREAD_STACK_GUARD: whose stack, its bounds */
};

/*
 * Where a child of the kernel writes (optional): write's bytes go into buffer (up to capacity,
 * the rest counted in dropped), and to the console too when echo is set. The spawner owns it and
 * keeps it until it has waited for the process.
 */
struct process_output {
    char *buffer;
    size_t capacity, length, dropped;
    bool echo;
};

struct process;

struct thread {
    struct user_frame frame; /* first: boot/trap.S reaches it through sscratch */
    struct process *process;
    struct thread *next; /* in the run queue */
    enum thread_state state;
    long id;                 /* USER_MAIN_THREAD_ID for the main thread, then counting up (never reused) */
    unsigned slot;           /* its index in process->threads (and its stack's slot, kernel/proc/user_space.h) */
    uintptr_t futex_address; /* blocked in futex_wait on this word (0: not) */
    long joiner;             /* the thread that joins it (0: none yet) */
    uintptr_t exit_value;    /* thread_exit's value, for thread_join */
    uintptr_t stack_bytes;   /* its stack (0: the main thread, whose stack is the space's) */
    int hart;                /* the hart it runs on (RUNNING) or ran on last; -1 before its first run */
    int affinity;            /* the only hart that may run it, or PROCESS_ANY_HART */
    enum thread_leave leave; /* why it is leaving its hart (RUNNING only) */
    bool waiting;            /* in wait, for a child to end: a child that ends wakes it */
    bool wake_pending;       /* woken while still RUNNING: do not block */
    bool yield_at_tick;      /* its hart has work of its own (the boot hart): leave at every timer tick and yield */
    int exit_status;         /* exit's status (THREAD_LEAVE_EXIT) */
    unsigned long slices, syscalls, preemptions;
};

/* The fields the system calls' fast paths read (pid, the space's break) come first, at small offsets. */
struct process {
    long pid;
    enum process_state state;
    struct process *parent; /* PROCESS_PARENT_KERNEL, or a process (NULL too once orphaned) */
    bool orphan;            /* its parent process ended: freed as it ends */
    bool detached;          /* a child of the kernel nobody waits for: freed as it ends, with a line */
    char name[USER_PROGRAM_NAME_MAX];
    int wait_status;          /* Unix's encoding (WAIT_* in user_abi.h), once it ended */
    struct process_kill kill; /* cause set: to be killed, or killed */
    struct process_output *output;
    struct user_space space;
    uint64_t started_ticks;                          /* hart_time_now() at spawn */
    unsigned live_threads;                           /* threads neither UNUSED nor DONE: the process ends at 0 */
    long last_thread_id;                             /* the id the newest thread got */
    uintptr_t thread_stack_bytes;                    /* the stacks of its threads but the main one, unjoined included */
    bool exiting;                                    /* exit was called, or the last thread called thread_exit */
    int exit_status;                                 /* ... with this status */
    struct thread threads[USER_PROCESS_THREADS_MAX]; /* by slot; slot 0 the main thread */
};

/* What a spawner asks for. */
struct process_spawn_request {
    const char *name;           /* an embedded program (kernel/proc/programs.h) */
    const char *const *argv;    /* argc strings, argv[0] the name */
    size_t argc;                /* 1..USER_ARGUMENTS_MAX */
    struct process *parent;     /* PROCESS_PARENT_KERNEL or the spawning process */
    bool detached;              /* kernel's children only: freed as it ends, with a line */
    bool eager;                 /* map every page when it enters the space (no filling on first touch) */
    uintptr_t heap_limit_bytes; /* 0: PROCESS_HEAP_LIMIT_DEFAULT; USER_SPACE_NO_HEAP_LIMIT cannot be asked this way: */
    bool no_heap_limit;         /* true: the heap may grow up to the stack's guard page */
    int affinity;               /* PROCESS_ANY_HART, or the hart that alone may run it */
    struct process_output *output; /* kernel's children only: NULL, or where write's bytes go */
};

/*
 * Starts a process: loads the program into a new address space, builds its entry block, queues
 * its thread. *pid gets its pid. Returns 0; -E_NOENT (no such program), -E_AGAIN (PROCESS_MAX
 * processes), -E_NOEXEC (the loader refused the file: the reason is printed), -E_2BIG (arguments),
 * -E_NOMEM (no page: what was taken is given back), -E_NOSYS (no paging: no programs can run).
 */
int process_spawn(const struct process_spawn_request *request, long *pid);

/* Whether process is ending (killed, or exiting): its threads leave for good, none starts. */
static inline bool process_ending(const struct process *process)
{
    return __atomic_load_n(&process->kill.cause, __ATOMIC_RELAXED) != 0 ||
           __atomic_load_n(&process->exiting, __ATOMIC_RELAXED);
}

/* Sets the run queue's reach: an IPI wakes an idle hart when a thread becomes runnable (see process.c). */
void process_hart_idle(unsigned hart, bool idle);

/*
 * The next thread hart may run, taken out of the run queue and marked RUNNING on hart; NULL when
 * there is none. A thread whose process is to be killed is returned too: the caller ends it.
 */
struct thread *process_next_thread(unsigned hart);

/* Whether a thread other than the caller's could run on hart now (the timer's question: preempt?). */
bool process_others_runnable(unsigned hart);

/*
 * Called by the hart a thread left (thread->leave says why), after its registers are saved and
 * the hart is back on the kernel's page table: requeues it (yield, preempted), blocks it (unless
 * woken meanwhile), or ends its process (exit, killed): every page back, then a zombie for its
 * parent, or freed.
 */
void process_thread_left(struct thread *thread);

/*
 * wait for a child of thread's process (pid -1: any): reaps a zombie child and returns its pid
 * with its status in *status; -E_CHILD when it has no such child; -E_AGAIN when such a child is
 * still running: the thread is then marked waiting (a child that ends wakes it) and must block.
 */
long process_wait_child(struct thread *thread, long pid, int *status);

/* What a child of the kernel ended with. */
struct process_result {
    int wait_status;          /* WAIT_* */
    struct process_kill kill; /* cause 0 unless the kernel killed it */
};

/*
 * Reaps the kernel's child pid if it has ended: 0 and *result filled; -E_AGAIN while it runs;
 * -E_CHILD when pid is no child of the kernel (or detached).
 */
int process_reap_kernel_child(long pid, struct process_result *result);

/*
 * Marks process pid to be killed with cause (USER_KILL_*): every thread of it ends at its next
 * trap, or when it is next picked (a blocked one is woken for it). Returns 0; -E_SRCH (no such
 * live process).
 */
int process_kill(long pid, int cause);

/*
 * Kills process, whose thread runs on the calling hart, for a trap the kernel does not serve
 * (kernel/proc/user_trap.c): records kill (unless the process is ending already), prints the
 * report and makes its other threads leave. The caller then makes the thread leave
 * (THREAD_LEAVE_KILLED).
 */
void process_kill_fault(struct process *process, const struct process_kill *kill);

/*
 * Prints the kill report of process (its kill filled in): pid, program, cause, address, pc,
 * region, and for a fault the thread (with a thread stack's bounds when the address is in one).
 */
void process_report_kill(const struct process *process);

/*
 * Formats the report line of a kill of pid (program name) into buffer (bytes, NUL-terminated),
 * without the newline: what process_report_kill prints. Returns the line's full length.
 */
int process_kill_text(char *buffer, size_t bytes, long pid, const char *name, const struct process_kill *kill);

/* One line of ps. */
struct process_info {
    long pid, parent_pid; /* parent 0: the kernel */
    char name[USER_PROGRAM_NAME_MAX];
    enum process_state state;
    enum thread_state thread_state; /* the most active of its threads' (running, runnable, waiting, ...) */
    unsigned threads;               /* threads not ended yet */
    int hart;                       /* where a running thread of it runs, or its main thread ran last */
    unsigned long pages, filled, slices, syscalls;
    uintptr_t brk, heap_start;
    int wait_status;
};

/* Fills up to max entries, in table order; returns how many processes there are (live and zombie). */
unsigned process_list(struct process_info *infos, unsigned max);

/* Processes in the table (live and zombie). */
unsigned process_count(void);

/*
 * The regions of live process pid's address space (user_space_regions, up to max), listed with the
 * space's lock held (it cannot change or go away meanwhile), and its totals in *info. Returns how
 * many regions it filled, or -E_SRCH (no such live process).
 */
int process_regions(long pid, struct user_space_region_info *regions, unsigned max, struct process_info *info);

/* Names of the states, for ps. */
const char *process_state_name(const struct process_info *info);

#endif
