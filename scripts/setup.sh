#!/usr/bin/env bash
# Installs what txrr needs on a Debian machine: PHP (CLI + PSR-7 libraries), the test clients,
# and txrr itself (non-editable) with its test tools in .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v php >/dev/null || need_apt+=(php-cli)
[ -f /usr/share/php/Nyholm/Psr7/autoload.php ] || need_apt+=(php-nyholm-psr7 php-psr-http-message)
command -v curl >/dev/null || need_apt+=(curl)
# bench/run.py (and its CI smoke test): nginx + php-fpm, the load generators, Slim
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
[ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
ls /usr/sbin/php-fpm* >/dev/null 2>&1 || need_apt+=(php-fpm)
[ -f /usr/share/php/Slim/App.php ] || need_apt+=(php-slim)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# Non-editable, so the twistd plugin lands in site-packages/twisted/plugins.
.venv/bin/python -m pip install -q --force-reinstall --no-deps . >/dev/null
.venv/bin/python -m pip install -q ".[test]" >/dev/null
