-- bench/post_reply.lua — wrk script for bench/run's scenario (r): customer
-- replies, POST /support/tickets/:publicId/messages.
--
-- BENCH_REPLY_FILE holds lines "<path> <bearer token>" (bench/run writes
-- them: tickets that (d) created, each with its own customer's token);
-- each request replies to a random one (random_lines.lua), so replies
-- spread over many tickets as real traffic does (one ticket's replies
-- serialize on its row). The body is a small HTML reply (the sanitizer
-- runs on it).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "random_lines.lua")

local targets = {}
local counter = 0

function init(args)
   targets = random_lines("BENCH_REPLY_FILE")
end

function request()
   counter = counter + 1
   local t = targets[math.random(1, #targets)]
   local body = string.format(
      '{"body":"<p>Reply %d: the second charge is still <b>pending</b> on my'
         .. ' card; could you check with the provider?</p>"}', counter)
   -- wrk.format uses these headers instead of wrk.headers (Host aside).
   return wrk.format("POST", t[1], {["Authorization"] = t[2],
      ["Content-Type"] = "application/json"}, body)
end
