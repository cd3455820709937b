-- wrk script for benches/claims.sh, benches/http.sh and benches/redis.sh: each wrk thread claims its own slice of
-- the share list (one "<path> <key>" per line), each share once, so every 200 is a real claim.
-- usage: wrk ... -s benches/claim.lua URL -- SHARE_LIST THREADS
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
