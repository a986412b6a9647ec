-- wrk script for bench/home.sh: POSTs the catalogue home query.
-- HOME_BODY_FILE names a file holding the GraphQL request JSON.
local path = os.getenv("HOME_BODY_FILE")
local f = assert(io.open(path, "rb"), "HOME_BODY_FILE not readable: " .. tostring(path))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
