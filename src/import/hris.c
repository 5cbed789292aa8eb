/* SPDX-License-Identifier: ISC */
/* stub: to be written */
typedef int rosterd_stub_hris;
