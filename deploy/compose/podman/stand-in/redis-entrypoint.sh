#!/bin/sh
# As the official redis image's: options alone run redis-server. And, as that image's
# build does, protected mode is off unless asked for (Debian's binary has it on when no
# config file binds an address: every connection from another container is refused).
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
  case " $* " in
    *' --protected-mode '* | *' --version '* | *' -v '*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
fi
exec "$@"
