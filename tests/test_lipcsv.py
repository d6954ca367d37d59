"""LIP pose CSV reader/writer: hand-written rows, malformed rows, the real LIP val file."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from piltools.errors import InputError
from piltools.joints import J, NUM_JOINTS
from piltools.lipcsv import NUM_FIELDS, LipCsvError, LipRow, read_lip_csv, write_lip_csv


def _line(name: str, triples: list[tuple[str, str, str]]) -> str:
    return ",".join([name] + [f for t in triples for f in t])


def _full_triples() -> list[tuple[str, str, str]]:
    # joint j at (10 + j, 20 + j), visible
    return [(str(10 + j), str(20 + j), "0") for j in range(NUM_JOINTS)]


def test_read_hand_rows(tmp_path: Path) -> None:
    a = _full_triples()
    a[J["pelvis"]] = ("nan", "nan", "nan")
    a[J["r_wrist"]] = ("3.5", "4.25", "1")
    b = _full_triples()
    path = tmp_path / "x.csv"
    path.write_text(_line("a.jpg", a) + "\n" + _line("b.jpg", b))  # no trailing newline, as the LIP files
    rows = read_lip_csv(path)
    assert list(rows) == ["a.jpg", "b.jpg"]  # file order kept
    ra = rows["a.jpg"]
    assert ra.joints.shape == (16, 3) and ra.occluded.shape == (16,)
    # pelvis written nan,nan,nan -> valid 0, x, y NaN
    assert ra.joints[J["pelvis"], 2] == 0.0 and np.isnan(ra.joints[J["pelvis"], :2]).all()
    # r_wrist (3.5, 4.25) with v = 1 -> occluded
    assert ra.joints[J["r_wrist"]].tolist() == [3.5, 4.25, 1.0]
    assert ra.occluded[J["r_wrist"]] and ra.occluded.sum() == 1
    # r_ankle is joint 0 at (10 + 0, 20 + 0)
    assert rows["b.jpg"].joints[J["r_ankle"]].tolist() == [10.0, 20.0, 1.0]


def test_write_read_round_trip(tmp_path: Path) -> None:
    joints = np.full((NUM_JOINTS, 3), np.nan)
    joints[:, 2] = 0.0
    joints[J["neck"]] = (12.0, 7.0, 1.0)
    joints[J["head_top"]] = (12.3456, 1.5, 1.0)
    occluded = np.zeros(NUM_JOINTS, dtype=bool)
    occluded[J["neck"]] = True
    path = tmp_path / "out.csv"
    write_lip_csv(path, [LipRow("p.jpg", joints, occluded)])
    text = path.read_text()
    fields = text.strip().split(",")
    assert len(fields) == NUM_FIELDS
    # neck is joint 8 -> fields 1 + 3*8 .. : integers written exactly, v = 1 (occluded)
    assert fields[1 + 3 * J["neck"]: 4 + 3 * J["neck"]] == ["12", "7", "1"]
    # head top: 3 decimals where not an integer
    assert fields[1 + 3 * J["head_top"]: 4 + 3 * J["head_top"]] == ["12.346", "1.500", "0"]
    back = read_lip_csv(path)["p.jpg"]
    assert np.allclose(back.joints[J["head_top"], :2], [12.346, 1.5])
    assert back.occluded[J["neck"]] and not back.occluded[J["head_top"]]
    assert np.isnan(back.joints[J["r_ankle"], 0]) and back.joints[J["r_ankle"], 2] == 0


def test_from_coords_marks_nan_missing() -> None:
    coords = np.arange(32, dtype=float).reshape(16, 2)
    coords[J["l_ankle"]] = np.nan
    row = LipRow.from_coords("z.jpg", coords)
    assert row.joints[J["l_ankle"], 2] == 0.0 and row.joints[J["r_ankle"], 2] == 1.0
    assert row.joints[J["r_knee"], :2].tolist() == [2.0, 3.0]  # row 1 of arange(32).reshape(16, 2)


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda f: f[:40], "found 40 comma-separated fields; expected 49"),
        (lambda f: f[:5] + ["abc"] + f[6:], "field 6 (joint 1 y) is 'abc'"),
        (lambda f: f[:4] + ["nan", "5", "0"] + f[7:], "expected three numbers or nan,nan,nan"),
        (lambda f: f[:3] + ["2"] + f[4:], "visibility is '2'; expected 0 or 1"),
        (lambda f: f[:1] + ["inf"] + f[2:], "expected a finite number"),
        (lambda f: [""] + f[1:], "empty image name"),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path: Path, mutate, needle: str) -> None:
    good = _line("a.jpg", _full_triples())
    bad = ",".join(mutate(_line("b.jpg", _full_triples()).split(",")))
    path = tmp_path / "bad.csv"
    path.write_text(good + "\n" + good.replace("a.jpg", "c.jpg") + "\n" + bad + "\n")
    with pytest.raises(LipCsvError) as err:
        read_lip_csv(path)
    msg = str(err.value)
    assert f"{path}:3:" in msg  # the bad row is line 3
    assert needle in msg


def test_duplicate_blank_and_empty(tmp_path: Path) -> None:
    good = _line("a.jpg", _full_triples())
    dup = tmp_path / "dup.csv"
    dup.write_text(good + "\n" + good + "\n")
    with pytest.raises(LipCsvError, match=r"dup.csv:2: duplicate image name 'a.jpg' \(first on line 1\)"):
        read_lip_csv(dup)
    blank = tmp_path / "blank.csv"
    blank.write_text(good + "\n\n" + good.replace("a.jpg", "b.jpg") + "\n")
    with pytest.raises(LipCsvError, match=r"blank.csv:2: blank line"):
        read_lip_csv(blank)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LipCsvError, match="no rows"):
        read_lip_csv(empty)
    with pytest.raises(FileNotFoundError):
        read_lip_csv(tmp_path / "missing.csv")


def test_lip_csv_error_is_an_input_error() -> None:
    # the CLI prints InputError as one line; library callers may keep catching ValueError
    assert issubclass(LipCsvError, InputError) and issubclass(LipCsvError, ValueError)


def test_binary_files_are_not_text(tmp_path: Path) -> None:
    png_like = tmp_path / "x.png"
    png_like.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    with pytest.raises(LipCsvError, match=r"x.png: not a text file \(byte 0x89 at offset 0 is not UTF-8\)"):
        read_lip_csv(png_like)
    # valid UTF-8 but with NUL characters (e.g. a UTF-16 file of ASCII text): still not a LIP CSV
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(_line("a.jpg", _full_triples()).encode("utf-16-le"))
    with pytest.raises(LipCsvError, match=r"u16.csv: not a text file \(NUL character at offset 1\)"):
        read_lip_csv(utf16)


def test_header_line_is_rejected_not_skipped(tmp_path: Path) -> None:
    good = _line("a.jpg", _full_triples())
    header = ",".join(["image"] + [f"{a}{j}" for j in range(NUM_JOINTS) for a in "xyv"])
    path = tmp_path / "h.csv"
    path.write_text(header + "\n" + good + "\n")
    with pytest.raises(LipCsvError, match=r"h.csv:1: looks like a header \('image,x0,y0,v0,"):
        read_lip_csv(path)
    # a short header (fewer columns than a row) is reported as a header too, not as a field count
    path.write_text("name,x,y,v\n" + good + "\n")
    with pytest.raises(LipCsvError, match="looks like a header"):
        read_lip_csv(path)
    # a first row whose joints are all missing (nan counts as a number) is a row, not a header
    all_missing = _line("m.jpg", [("nan", "nan", "nan")] * NUM_JOINTS)
    path.write_text(all_missing + "\n" + good + "\n")
    assert list(read_lip_csv(path)) == ["m.jpg", "a.jpg"]


@pytest.mark.realdata
def test_real_lip_val_csv(realdata: Path) -> None:
    path = realdata / "lip" / "lip_val_groundtruth.csv"
    rows = read_lip_csv(path)
    assert len(rows) == 10_000
    # row order = val_id.txt order (README of the real-data folder)
    ids = (realdata / "lip" / "val_id.txt").read_text().split()
    assert [n[: -len(".jpg")] for n in rows] == ids
    # first line: 100034_483681.jpg,153,351,0,122,284,0,nan,nan,nan,...; joint 10 (r_wrist) is 118,201,1
    first = rows["100034_483681.jpg"]
    assert first.joints[J["r_ankle"]].tolist() == [153.0, 351.0, 1.0]
    assert first.joints[J["r_hip"], 2] == 0.0 and math.isnan(first.joints[J["r_hip"], 0])
    assert first.occluded[J["r_wrist"]] and not first.occluded[J["r_ankle"]]
    # every row parsed into the (16, 3) x, y, valid convention
    assert all(r.joints.shape == (16, 3) for r in rows.values())


@pytest.mark.realdata
def test_real_csv_round_trip_and_malformed_copy(realdata: Path, tmp_path: Path) -> None:
    path = realdata / "lip" / "lip_val_groundtruth.csv"
    rows = read_lip_csv(path)
    copy = tmp_path / "copy.csv"
    write_lip_csv(copy, rows)
    back = read_lip_csv(copy)
    assert list(back) == list(rows)
    for name in list(rows)[:500]:
        assert np.array_equal(back[name].joints, rows[name].joints, equal_nan=True)
        assert np.array_equal(back[name].occluded, rows[name].occluded)
    lines = path.read_text().splitlines()
    fields = lines[1233].split(",")  # line 1234 (1-based)
    fields[7] = "oops"  # joint 2 x
    lines[1233] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"bad.csv:1234: field 8 \(joint 2 x\) is 'oops'"):
        read_lip_csv(bad)


# ----------------------------------------------------------------------------
# python -m piltools evaluate-lip
# ----------------------------------------------------------------------------
@pytest.mark.realdata
def test_evaluate_lip_cli_real_csv(realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    from piltools.__main__ import main

    gt = str(realdata / "lip" / "lip_val_groundtruth.csv")
    assert main(["evaluate-lip", gt, gt]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].split() == ["Head", "Sho.", "Elb.", "Wri.", "Hip", "Knee", "Ank.", "U.Body", "PCK"]
    assert lines[-1].split() == ["100.0"] * 9
    assert main(["evaluate-lip", gt, gt, "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["PCK"] == 100.0 and table["images"] + table["excluded_images"] == 10_000

    # a malformed prediction file: exit code 2, one line naming file and line, no traceback
    lines_in = Path(gt).read_text().splitlines()
    lines_in[41] = lines_in[41] + ",7"  # line 42 gets a 50th field
    bad = tmp_path / "pred.csv"
    bad.write_text("\n".join(lines_in))
    assert main(["evaluate-lip", str(bad), gt]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:42: found 50 comma-separated fields; expected 49" in err
    assert "Traceback" not in err

    # predictions for only some images: exit code 2 naming the missing ones
    part = tmp_path / "part.csv"
    part.write_text("\n".join(Path(gt).read_text().splitlines()[:3]))
    assert main(["evaluate-lip", str(part), gt]) == 2
    assert "ground truth but no prediction: 9997" in capsys.readouterr().err


def test_evaluate_lip_cli_hand_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from piltools.__main__ import main

    # neck (10 + 8, 20 + 8) and head top (10 + 9, 20 + 9): head size sqrt(2) -> radius 0.707 px
    gt = tmp_path / "gt.csv"
    gt.write_text(_line("a.jpg", _full_triples()) + "\n")
    moved = _full_triples()
    moved[J["l_wrist"]] = ("100", "100", "0")  # far off -> wrong
    moved[J["r_wrist"]] = ("nan", "nan", "nan")  # not predicted -> wrong
    pred = tmp_path / "pred.csv"
    pred.write_text(_line("a.jpg", moved) + "\n")
    assert main(["evaluate-lip", str(pred), str(gt)]) == 0
    values = dict(zip(*[line.split() for line in capsys.readouterr().out.strip().splitlines()[-2:]]))
    assert values["Wri."] == "0.0" and values["Elb."] == "100.0"
    assert values["U.Body"] == "75.0"  # 6 of the 8 upper-body joints
    assert values["PCK"] == "85.7"  # 12 of 14 = 85.71
