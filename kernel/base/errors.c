/*
 * kernel/base/errors.c - names of error codes, for messages.
 */
#include "kernel/base/errors.h"

const char *error_name(int code)
{
    switch (code < 0 ? -code : code) {
    case 0: return "OK";
    case E_NOENT: return "E_NOENT";
    case E_SRCH: return "E_SRCH";
    case E_2BIG: return "E_2BIG";
    case E_NOEXEC: return "E_NOEXEC";
    case E_BADF: return "E_BADF";
    case E_CHILD: return "E_CHILD";
    case E_AGAIN: return "E_AGAIN";
    case E_NOMEM: return "E_NOMEM";
    case E_FAULT: return "E_FAULT";
    case E_BUSY: return "E_BUSY";
    case E_INVAL: return "E_INVAL";
    case E_RANGE: return "E_RANGE";
    case E_DEADLK: return "E_DEADLK";
    case E_NAMETOOLONG: return "E_NAMETOOLONG";
    case E_NOSYS: return "E_NOSYS";
    case E_BADDATA: return "E_BADDATA";
    case E_TIMEDOUT: return "E_TIMEDOUT";
    default: return "E_?";
    }
}
