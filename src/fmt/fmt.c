/* SPDX-License-Identifier: ISC */
/* stub: to be written */
#include "fmt/fmt.h"
