-- SPDX-License-Identifier: ISC
-- GET /Users?filter=userName eq "<name>" for a random loaded user; the
-- names in $BENCH_NAMES are already percent-encoded.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local names

function init(args)
	names = read_lines(os.getenv("BENCH_NAMES"))
	math.randomseed(os.time() * 1000 + (tid or 0) + 7)
end

function request()
	local name = names[math.random(#names)]
	return wrk.format("GET", base_path ..
		"/Users?filter=userName%20eq%20%22" .. name .. "%22")
end
