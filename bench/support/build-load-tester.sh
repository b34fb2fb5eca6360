#!/bin/sh
# Build strongSwan's load-tester plug-in for bench/ipsec-handshakes.ts.
#
# Debian ships no binary of it. This fetches the source of the installed
# strongSwan (5.9.8, Debian 12) with a private apt configuration (deb-src
# lines; the system's sources are not touched), configures it like Debian's
# daemon (mediation on, so the plug-in's view of the structures matches),
# patches the plug-in slightly and builds only that plug-in. The result is a
# copy of the system's plug-in directory plus libstrongswan-load-tester.so in
# <dir>/plugins, which the bench bind-mounts over /usr/lib/ipsec/plugins in a
# private mount namespace.
#
# The patches (load_tester_creds.c, load_tester_config.c):
#  - the issuer key (the lab CA's) may be any key type, not only RSA, and the
#    plug-in offers it and the certificates it issues for that key type: the
#    lab CA is ECDSA P-256, so every client certificate is ECDSA P-256;
#  - a setting `load-tester.encap` forces UDP encapsulation (encap = yes).
#
# Usage: sh bench/support/build-load-tester.sh [dir]   (default /var/tmp/shoal-load-tester; root for apt-get)
set -eu
DIR=${1:-/var/tmp/shoal-load-tester}
mkdir -p "$DIR/state/lists/partial" "$DIR/cache/archives/partial"
cd "$DIR"
cat > sources.list <<'LIST'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
LIST
O="-o Dir::Etc::sourcelist=$DIR/sources.list -o Dir::Etc::sourceparts=/nonexistent -o Dir::State=$DIR/state -o Dir::Cache=$DIR/cache"
apt-get $O update
# The security archive may not serve the installed revision's files any more: take the newest it has.
for v in $(apt-cache $O showsrc strongswan | sed -n 's/^Version: //p' | sort -rV); do
  apt-get $O source --download-only "strongswan=$v" && break
done
rm -rf src && mkdir src && tar -xjf strongswan_5.9.8.orig.tar.bz2 -C src --strip-components=1
DEBTAR=$(ls strongswan_5.9.8-*.debian.tar.xz | sort -V | tail -1)
tar -xJf "$DEBTAR" -C src
cd src
for p in $(grep -v '^#' debian/patches/series); do patch -p1 < "debian/patches/$p"; done
PL=src/libcharon/plugins/load_tester
python3 - "$PL" <<'PY'
import sys
d = sys.argv[1]
p = d + '/load_tester_creds.c'
s = open(p).read()
old = "return lib->creds->create(lib->creds, CRED_PRIVATE_KEY, KEY_RSA,\n\t\t\t\t\tBUILD_FROM_FILE, path, BUILD_END);"
assert old in s
s = s.replace(old, old.replace('KEY_RSA', 'KEY_ANY'))
old = "\tif (type != KEY_ANY && type != KEY_RSA)\n\t{\n\t\treturn NULL;\n\t}\n\tif (id)"
assert old in s
s = s.replace(old, "\tif (type != KEY_ANY && type != this->private->get_type(this->private))\n\t{\n\t\treturn NULL;\n\t}\n\tif (id)")
old = "\tif (key != KEY_ANY && key != KEY_RSA)\n\t{\n\t\treturn NULL;\n\t}\n\tif (!id)"
assert old in s
s = s.replace(old, "\tif (key != KEY_ANY && (this->private == NULL || key != this->private->get_type(this->private)))\n\t{\n\t\treturn NULL;\n\t}\n\tif (!id)")
open(p, 'w').write(s)
p = d + '/load_tester_config.c'
s = open(p).read()
old = "\t\t.remote_port = IKEV2_UDP_PORT,\n\t};"
assert old in s
s = s.replace(old, "\t\t.remote_port = IKEV2_UDP_PORT,\n\t\t.force_encap = lib->settings->get_bool(lib->settings,\n\t\t\t\t\t\t\"%s.plugins.load-tester.encap\", FALSE, lib->ns),\n\t};", 1)
open(p, 'w').write(s)
PY
./configure --prefix=/usr --libexecdir=/usr/lib --sysconfdir=/etc --disable-gmp --enable-mediation --enable-load-tester > ../configure.log
make -C $PL > ../make.log
cd ..
rm -rf plugins && mkdir plugins
cp /usr/lib/ipsec/plugins/*.so plugins/
cp src/$PL/.libs/libstrongswan-load-tester.so plugins/
echo "built $DIR/plugins/libstrongswan-load-tester.so"
