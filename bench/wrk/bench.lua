-- wrk script of the whole-system benchmarks (bench/lib.sh run_wrk). Configured by environment:
--   PATHS_FILE       one request path per line; each wrk thread takes every THREADS-th line, so
--                    no two threads send the same path; without it, every request is the URL's
--   THREADS          wrk's thread count (for splitting PATHS_FILE)
--   STOP_AT_END      1: a thread stops once it has answers for all its paths, and the rate is
--                    taken over the time until the last answer (wrk itself divides by the whole
--                    duration). A run that gets there sent up to one request per connection
--                    twice; size the path list so that the duration ends first (see "exhausted")
--   REQUESTS_PER_OP  requests that make one operation (2 for "manifest, then blob"); req_s is
--                    divided by it
--   EXPECT_STATUS    the status every answer must have (e.g. 404); others count as errors.
--                    Without it, wrk's own rule: a status of 400 or more is an error
--   ACCEPT           an Accept header to send
-- done() prints one line: RESULT requests duration_us ops_per_s p50_us p99_us errors exhausted

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local paths_file = os.getenv("PATHS_FILE") or ""
local stop_at_end = os.getenv("STOP_AT_END") == "1"
local expect_status = tonumber(os.getenv("EXPECT_STATUS") or "")
local accept = os.getenv("ACCEPT") or ""

if accept ~= "" then
  wrk.headers["Accept"] = accept
end

function init(args)
  bad = 0
  answered = 0
  first_us = now_us()
  last_us = first_us
  exhausted = 0
  if paths_file ~= "" then
    paths = {}
    local n = tonumber(os.getenv("THREADS") or "1")
    local i = 0
    for line in io.lines(paths_file) do
      if i % n == id - 1 then
        table.insert(paths, line)
      end
      i = i + 1
    end
    if #paths == 0 then
      error("no paths for thread " .. id .. " in " .. paths_file)
    end
    index = 0
  end
end

-- Defined only when needed: without request() and response(), wrk sends one prepared request
-- and does not hand answers to Lua, which keeps the client as cheap as it can be.
if paths_file ~= "" then
  function request()
    index = index + 1
    if index > #paths then
      index = 1
    end
    return wrk.format(nil, paths[index])
  end
end

if stop_at_end or expect_status then
  function response(status, headers, body)
    answered = answered + 1
    if expect_status and status ~= expect_status then
      bad = bad + 1
    end
    if stop_at_end then
      last_us = now_us()
      if answered >= #paths then
        exhausted = 1
        wrk.thread:stop()
      end
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  if expect_status then
    for _, thread in ipairs(threads) do
      errors = errors + thread:get("bad")
    end
  else
    errors = errors + e.status
  end
  local per_op = tonumber(os.getenv("REQUESTS_PER_OP") or "1")
  local requests = summary.requests
  local duration = summary.duration
  local exhausted_any = 0
  if stop_at_end then
    -- From the first thread's start to the last answer of any thread.
    local first, last = nil, 0
    requests = 0
    for _, thread in ipairs(threads) do
      local f, l = thread:get("first_us"), thread:get("last_us")
      if first == nil or f < first then first = f end
      if l > last then last = l end
      requests = requests + thread:get("answered")
      if thread:get("exhausted") == 1 then exhausted_any = 1 end
    end
    duration = last - first
  end
  io.write(string.format("RESULT %d %d %.1f %d %d %d %d\n", requests, duration,
    requests / (duration / 1e6) / per_op, latency:percentile(50), latency:percentile(99), errors,
    exhausted_any))
end
