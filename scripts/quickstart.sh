#!/usr/bin/env bash
# Install everything, make a demo workspace holding a few sample scans and one demo
# officer per role, and run the watcher on it: it archives the samples and keeps
# watching demo/inbox (Ctrl+C stops).
#
# The demo officers' passwords are generated here and printed once: note them down.
# There is no default password anywhere; a rerun keeps existing accounts as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DEMO="${MOTCUA_DEMO:-demo}"
unset MOTCUA_USER  # the accounts are made by the OS account running this script
if [ ! -f "$DEMO/motcua.toml" ]; then
    .venv/bin/motcua init "$DEMO"
fi
.venv/bin/python scripts/make_samples.py "$DEMO/inbox"

existing="$(.venv/bin/motcua -w "$DEMO" user list --json)"
made=0
officer() {  # login role full-name title
    if grep -q "\"login\": \"$1\"" <<<"$existing"; then
        return
    fi
    local password
    password="$(.venv/bin/python -c 'from motcua.services.accounts import generate_password as g; print(g())')"
    printf '%s\n' "$password" | .venv/bin/motcua -w "$DEMO" user add "$1" --name "$3" \
        --title "$4" --role "$2" --password-stdin >/dev/null
    if [ "$made" -eq 0 ]; then
        echo "Tài khoản cán bộ mẫu (mật khẩu chỉ in MỘT lần, hãy ghi lại):"
        made=1
    fi
    printf '  %-12s %-13s %s\n' "$1" "$2" "$password"
}
officer tiepnhan tiep_nhan "Trần Thị Tiếp Nhận" "Công chức Bộ phận Một cửa"
officer chuyenvien chuyen_vien "Lê Văn Chuyên" "Công chức Văn phòng - Thống kê"
officer lanhdao lanh_dao "Nguyễn Văn An" "Chủ tịch UBND xã"
officer quantri quan_tri "Phạm Thị Quản Trị" "Quản trị hệ thống"

echo "Mở trang tra cứu (ở cửa sổ khác): .venv/bin/motcua -w $DEMO serve  rồi vào http://127.0.0.1:8080/"
echo "Thả thêm tệp quét vào $DEMO/inbox; thử: .venv/bin/motcua -w $DEMO search 'ho so'"
exec .venv/bin/motcua -w "$DEMO" watch "$@"
