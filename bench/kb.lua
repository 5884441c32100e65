-- bench/kb.lua — wrk script of bench/kb: GET the paths listed in the file
-- $BENCH_KB_PATHS (one per line) in turn, each thread starting at its own
-- offset, with the extra headers of the command line (-H). Requests are
-- formatted once, in init(), and there is no response() hook (wrk would
-- copy every body into Lua), so the load generator costs the same per
-- request in every scenario. done() is report.lua's (BENCH_RESULT line).
--
-- Which answers were 200 (and which came from nginx's cache) bench/kb
-- counts in nginx's access log of the measured run; a run with any other
-- status or socket errors is invalid, so its figures are those of 200
-- responses only.
dofile((os.getenv("BENCH_DIR") or "bench") .. "/report.lua")

local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

local reqs, n, i

function init(args)
   local f = assert(io.open(os.getenv("BENCH_KB_PATHS"), "r"))
   reqs = {}
   for line in f:lines() do
      if line ~= "" then
         table.insert(reqs, wrk.format("GET", line))
      end
   end
   f:close()
   n = #reqs
   assert(n > 0, "no paths in BENCH_KB_PATHS")
   i = (tid * 7919) % n -- spread the threads over the list
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   return reqs[i]
end
