"""The rule abidiff cannot say alone: a size-prefixed struct may only grow
at its end. Given two abidw descriptions (the baseline, the new build), each
struct named on the command line must keep every member of the baseline, in
order, at the same offset, with a type of the same name and size.
(libabigail's `has_data_member_inserted_at = end`, in abi/lifesign.suppr,
lets appended members through but also lets a moved one through when
nothing was inserted.) Exit 1, naming the member, when it does not."""
import sys
import xml.etree.ElementTree as ET


def members(path, struct):
    root = ET.parse(path).getroot()
    types = {e.get("id"): e for e in root.iter() if e.get("id")}

    def describe(type_id):
        e = types.get(type_id)
        if e is None:
            return type_id
        return (e.tag, e.get("name"), e.get("size-in-bits"))

    for decl in root.iter("class-decl"):
        if decl.get("name") == struct and decl.get("is-declaration-only") != "yes":
            return [
                (v.get("name"), int(m.get("layout-offset-in-bits")), describe(v.get("type-id")))
                for m in decl.findall("data-member")
                for v in m.findall("var-decl")
            ]
    return None


def main():
    baseline, new, structs = sys.argv[1], sys.argv[2], sys.argv[3:]
    bad = []
    for struct in structs:
        old, now = members(baseline, struct), members(new, struct)
        if old is None:
            continue
        if now is None:
            bad.append(f"{struct}: gone")
            continue
        for i, member in enumerate(old):
            if i >= len(now) or now[i] != member:
                got = now[i] if i < len(now) else "nothing"
                bad.append(f"{struct}: member {member[0]} at bit {member[1]} is now {got}")
                break
    for line in bad:
        print(f"abi: {line}")
    sys.exit(1 if bad else 0)


main()
