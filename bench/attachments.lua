-- bench/attachments.lua — wrk script of bench/attachments.
--
-- GET (BENCH_ATT_METHOD unset or GET): the paths of $BENCH_ATT_PATHS in
-- turn, requests formatted once in init().
-- PUT: each path of $BENCH_ATT_PATHS once (a signed upload URL can be
-- used once; thread t of $BENCH_ATT_THREADS takes lines t, t+T, t+2T, …),
-- with the bytes of $BENCH_ATT_BODY as the body. When a thread runs out of paths
-- it starts over, and the repeated uploads answer 409: bench/attachments
-- then reports the run as invalid (prepare more with BENCH_ATT_UPLOADS).
-- A path ending in "/" (the nginx DAV baseline) gets "<thread>-<n % 16>"
-- appended: files are overwritten, as many as the app path writes new.
-- No response() hook (wrk would copy every body into Lua); done() is
-- report.lua's (BENCH_RESULT line).
dofile((os.getenv("BENCH_DIR") or "bench") .. "/report.lua")

local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

local method, paths, reqs, body, n, i, sent

function init(args)
   method = os.getenv("BENCH_ATT_METHOD") or "GET"
   local f = assert(io.open(os.getenv("BENCH_ATT_PATHS"), "r"))
   paths = {}
   local k = 0
   local step = tonumber(os.getenv("BENCH_ATT_THREADS") or "1")
   for line in f:lines() do
      if line ~= "" then
         -- a DAV directory ("/") serves every thread
         if method == "GET" or k % step == tid or string.sub(line, -1) == "/" then
            table.insert(paths, line)
         end
         k = k + 1
      end
   end
   f:close()
   n = #paths
   assert(n > 0, "no paths in BENCH_ATT_PATHS for thread " .. tid)
   if method == "GET" then
      reqs = {}
      for _, p in ipairs(paths) do
         table.insert(reqs, wrk.format("GET", p))
      end
      i = (tid * 7919) % n
   else
      local b = assert(io.open(os.getenv("BENCH_ATT_BODY"), "rb"))
      body = b:read("*a")
      b:close()
      i = 0
   end
   sent = 0
end

local headers = {["Content-Type"] = "application/octet-stream"}

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   if method == "GET" then
      return reqs[i]
   end
   local p = paths[i]
   if string.sub(p, -1) == "/" then
      p = p .. tid .. "-" .. (sent % 16)
   end
   sent = sent + 1
   return wrk.format("PUT", p, headers, body)
end
