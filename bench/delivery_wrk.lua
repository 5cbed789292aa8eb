-- SPDX-License-Identifier: ISC
-- GET /Users/{id} at a steady rate for bench/delivery_bench.sh: each
-- connection waits $BENCH_DELAY_MS between requests (wrk's delay()), so
-- the API sees a fixed load instead of a closed loop that takes all the
-- CPU it can; the latencies wrk reports exclude the wait.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

function init(args)
	ids = read_lines(os.getenv("BENCH_IDS"))
	math.randomseed(os.time() * 1000 + (tid or 0))
end

function delay()
	return pause
end

function request()
	return wrk.format("GET", base_path .. "/Users/" .. ids[math.random(#ids)])
end
