-- SPDX-License-Identifier: ISC
-- GET /Users/{id} for a random id of the loaded users (file $BENCH_IDS,
-- one id per line, written by load_users.py).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids

function init(args)
	ids = read_lines(os.getenv("BENCH_IDS"))
	math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
	return wrk.format("GET", base_path .. "/Users/" .. ids[math.random(#ids)])
end
