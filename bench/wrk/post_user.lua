-- SPDX-License-Identifier: ISC
-- POST /Users with a new, unique userName on every request:
-- "wrk-<run>-<thread>-<n>@example.com", where <run> ($BENCH_RUN) differs
-- between the warm-up and the measured run.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local run = os.getenv("BENCH_RUN") or tostring(os.time())
local headers = {}
local n = 0

function init(args)
	-- wrk.format() uses wrk.headers (from -H) only when given no table,
	-- so copy them (Authorization) next to the content type.
	for k, v in pairs(wrk.headers) do
		headers[k] = v
	end
	headers["Content-Type"] = "application/scim+json"
end

function request()
	n = n + 1
	local user = string.format("wrk-%s-%d-%d@example.com", run, tid or 0, n)
	local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],' ..
		'"userName":"' .. user .. '",' ..
		'"name":{"givenName":"Bench","familyName":"User' .. n .. '"},' ..
		'"emails":[{"value":"' .. user .. '","type":"work","primary":true}],' ..
		'"active":true}'
	return wrk.format("POST", base_path .. "/Users", headers, body)
end
