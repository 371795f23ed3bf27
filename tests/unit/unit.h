/* Shared includes for the cmocka unit tests. */
#ifndef IMAGEGEN_UNIT_H
#define IMAGEGEN_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#endif
