-- bench/rotate_lines.lua — shared by the wrk scripts that send a file's
-- lines in turn (kb.lua, ai.lua): each thread starts at its own offset in
-- the list and walks it round, and the requests are formatted once, in
-- init(), with no response() hook (wrk would copy every body into Lua),
-- so the load generator costs the same per request in every scenario.
-- Loads report.lua for the BENCH_RESULT line.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

local reqs, n, i

-- Reads the non-empty lines of the file named by the environment
-- variable env, each made a request by format(line).
function rotate_lines(env, format)
   local f = assert(io.open(os.getenv(env), "r"))
   reqs = {}
   for line in f:lines() do
      if line ~= "" then
         table.insert(reqs, format(line))
      end
   end
   f:close()
   n = #reqs
   assert(n > 0, "no lines in " .. env)
   i = (tid * 7919) % n -- spread the threads over the list
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   return reqs[i]
end
