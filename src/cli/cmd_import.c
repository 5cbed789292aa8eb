/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* stub: rosterd import hris (to be written). */
#include "cli/cmd.h"

static int
cmd_import_hris_exec(int argc, char **argv)
{
	cmd_error("import hris: not implemented yet");
	return 1;
}

const struct cmd_entry cmd_import_hris_entry = {
    .name = "import hris",
    .synopsis = "FILE.csv --tenant NAME --mapping NAME [--config FILE]",
    .summary = "Import an HRIS export",
    .help = "Not implemented yet.\n",
    .exec = cmd_import_hris_exec,
};
