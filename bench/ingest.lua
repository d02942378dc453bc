-- wrk script of bench/ingest.py: POSTs pre-signed webhook bodies, each one exactly once.
--
-- Arguments (after `--`): <bodies file> <thread count> <request path>.
-- The bodies file has one delivery per line: "<X-Atlas-Signature value>\t<JSON body>".
-- Thread k (0-based) owns lines k, k+T, k+2T, ... of the file, so no two threads share a body; within a
-- thread, connections take the next unsent line in turn (wrk calls request() once per request it writes and
-- never re-sends a request after a reconnect). When a thread has sent all its lines it sends
-- `GET /bench-exhausted` instead and counts it, so the caller can tell the run was too long for the file.
-- done() prints one line "BENCH_RESULT {json}" with the counts of all threads and the latency percentiles.

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

-- Per-thread state (globals of the thread's own Lua state, readable from done() with thread:get).
sent = 0
exhausted = 0
statuses = {}
local sigs, bodies, owned = {}, {}, 0
local path = "/"
local headers = {["Content-Type"] = "application/json"}

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   path = args[3]
   local k = 0
   for line in io.lines(file) do
      if k % nthreads == tid then
         local tab = line:find("\t", 1, true)
         owned = owned + 1
         sigs[owned] = line:sub(1, tab - 1)
         bodies[owned] = line:sub(tab + 1)
      end
      k = k + 1
   end
end

function request()
   if sent >= owned then
      exhausted = exhausted + 1
      return wrk.format("GET", "/bench-exhausted", {}, nil)
   end
   sent = sent + 1
   headers["X-Atlas-Signature"] = sigs[sent]
   return wrk.format("POST", path, headers, bodies[sent])
end

function response(status, _headers, _body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, _requests)
   local total_sent, total_exhausted, by_status = 0, 0, {}
   for _, thread in ipairs(threads) do
      total_sent = total_sent + thread:get("sent")
      total_exhausted = total_exhausted + thread:get("exhausted")
      for code, n in pairs(thread:get("statuses")) do
         by_status[code] = (by_status[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(by_status) do
      table.insert(parts, string.format('"%s": %d', code, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"sent": %d, "exhausted": %d, "completed": %d, "duration_us": %d, "statuses": {%s}, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}}\n',
      total_sent, total_exhausted, summary.requests, summary.duration, table.concat(parts, ", "),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
