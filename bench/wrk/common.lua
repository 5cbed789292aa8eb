-- SPDX-License-Identifier: ISC
-- Shared by the benchmark's wrk scripts: at the end of a run, print one
-- machine-readable line that scim_bench.sh parses (wrk's own text output
-- changes units between us/ms/s, this does not).
local function bench_done(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d sockerr=%d\n",
		summary.requests, secs, summary.requests / secs,
		math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
		math.floor(latency.max), e.status,
		e.connect + e.read + e.write + e.timeout))
end

done = bench_done

-- Each thread gets a number (used to seed random and make names unique).
local next_tid = 0
function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
end

-- Read a file of one value per line into a table.
function read_lines(path)
	local t = {}
	for line in io.lines(path) do
		if line ~= "" then
			t[#t + 1] = line
		end
	end
	assert(#t > 0, "no lines in " .. path)
	return t
end

base_path = os.getenv("BENCH_BASE_PATH") or "/scim/v2"
