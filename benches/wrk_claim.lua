-- wrk script for claim benchmarks (benches/http.sh, benches/redis.sh): POSTs each share of the
-- list given as the first script argument (`<path> <key>` lines) once; the second argument is
-- the number of wrk threads sharing the list.
-- Each wrk thread claims its own slice of the share list, each share once.
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local n = tonumber(args[2])
  paths, keys = {}, {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      local p, k = line:match("^(%S+) (%S+)$")
      table.insert(paths, p); table.insert(keys, k)
    end
    i = i + 1
  end
  next_share = 1
end
function request()
  local i = next_share
  if i > #paths then i = #paths end
  next_share = next_share + 1
  return wrk.format("POST", paths[i], {["Content-Type"] = "application/x-www-form-urlencoded"}, "key=" .. keys[i])
end
