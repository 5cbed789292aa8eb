/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/* stub: rosterd feed commands (to be written). */
#include "cli/cmd.h"

static int
cmd_feed_stub_exec(int argc, char **argv)
{
	cmd_error("%s: not implemented yet", argv[0]);
	return 1;
}

const struct cmd_entry cmd_feed_plan_entry = {
    .name = "feed plan",
    .synopsis = "NAME [--json]",
    .summary = "Show what the next file for a feed would contain",
    .help = "Not implemented yet (issue 3).\n"
            "\n"
            "  --db PATH  database file\n",
    .exec = cmd_feed_stub_exec,
};

const struct cmd_entry cmd_feed_render_entry = {
    .name = "feed render",
    .synopsis = "NAME --out DIR",
    .summary = "Write the next file for a feed and record the run",
    .help = "Not implemented yet (issue 3).\n"
            "\n"
            "  --db PATH  database file\n",
    .exec = cmd_feed_stub_exec,
};

const struct cmd_entry cmd_feed_approve_entry = {
    .name = "feed approve",
    .synopsis = "RUN",
    .summary = "Approve a run held for approval",
    .help = "Not implemented yet (issue 3).\n"
            "\n"
            "  --db PATH  database file\n",
    .exec = cmd_feed_stub_exec,
};

const struct cmd_entry cmd_feed_reject_entry = {
    .name = "feed reject",
    .synopsis = "RUN --reason TEXT",
    .summary = "Reject a run held for approval",
    .help = "Not implemented yet (issue 3).\n"
            "\n"
            "  --db PATH  database file\n",
    .exec = cmd_feed_stub_exec,
};

const struct cmd_entry cmd_feed_runs_entry = {
    .name = "feed runs",
    .synopsis = "NAME",
    .summary = "List the runs of a feed",
    .help = "Not implemented yet (issue 3).\n"
            "\n"
            "  --db PATH  database file\n",
    .exec = cmd_feed_stub_exec,
};

const struct cmd_entry cmd_feed_show_entry = {
    .name = "feed show",
    .synopsis = "RUN",
    .summary = "Show one run",
    .help = "Not implemented yet (issue 3).\n"
            "\n"
            "  --db PATH  database file\n",
    .exec = cmd_feed_stub_exec,
};
