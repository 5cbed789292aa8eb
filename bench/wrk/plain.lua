-- SPDX-License-Identifier: ISC
-- A fixed request (the URL given to wrk); only adds the BENCH summary line.
-- Used for nginx's static file and GET /Users?startIndex=1&count=100.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
