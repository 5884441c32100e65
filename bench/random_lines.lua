-- bench/random_lines.lua — shared by the wrk scripts that pick a random
-- request per call (fetch_random.lua, post_reply.lua): each wrk thread
-- seeds its own generator, and a file of "<path> <bearer token>" lines is
-- read into a list. Loads report.lua for the BENCH_RESULT line.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local next_thread = 0

function setup(thread)
   next_thread = next_thread + 1
   thread:set("seed", os.time() * 100 + next_thread)
end

-- Seeds this thread's generator and returns the lines of the file named
-- by the environment variable env as {path, "Bearer <token>"} pairs.
function random_lines(env)
   math.randomseed(seed or os.time())
   local lines = {}
   for line in io.lines(os.getenv(env)) do
      local path, token = line:match("^(%S+) (%S+)$")
      if path then
         lines[#lines + 1] = {path, "Bearer " .. token}
      end
   end
   return lines
end
