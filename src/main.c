/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* rosterd entry point: hands argv to the command table. */
#include "cli/cmd.h"

int
main(int argc, char **argv)
{
	return cmd_main(argc, argv);
}
