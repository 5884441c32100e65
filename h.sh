M () 
{ 
    r ${3:-a875101} POST /agent/tickets/$1/messages "$2" | python3 -c '
import sys,json
d=sys.stdin.read().rsplit("\n[",1); j=json.loads(d[0])
print(d[1].strip(), j.get("id"), j.get("is_internal"), j.get("code"), j.get("detail"), j.get("errors"))'
}
