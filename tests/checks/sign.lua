-- miltertest script: hand the message in file `msg` to the milter on
-- 127.0.0.1:8891 (opendkim in signing mode) and write the DKIM-Signature field it
-- asks to insert into file `out`. Variables come from miltertest -D.
local conn = mt.connect("inet:8891@127.0.0.1")
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then error("conninfo") end
if mt.mailfrom(conn, "alice@example.test") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "bob@example.org") ~= nil then error("rcptto") end
local f = io.open(msg, "r")
local text = f:read("*a")
f:close()
local head, body = text:match("^(.-)\n\n(.*)$")
for line in (head .. "\n"):gmatch("(.-)\n") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if mt.header(conn, name, value) ~= nil then error("header " .. name) end
end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, (body:gsub("\n", "\r\n"))) ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") and not mt.eom_check(conn, MT_HDRADD, "DKIM-Signature") then
  error("no DKIM-Signature added")
end
local sig = mt.getheader(conn, "DKIM-Signature", 0)
local o = io.open(out, "w")
o:write("DKIM-Signature:" .. sig:gsub("\r\n", "\n") .. "\n")
o:close()
mt.disconnect(conn)
