// Tests for object anatomy in the analyzer (analyzer/anatomy_report.c, stats --key type): the table,
// shape text, reports and the size model, on the fixture snapshot with anatomy
// (hsa_fixture_add_anatomy).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "analyzer/anatomy_report.h"
#include "analyzer/report.h"
#include "analyzer/snapshot.h"
#include "analyzer/stats.h"
#include "analyzer/testdata/fixture.h"

namespace {

struct Fixture {
  hsa_snapshot s;
  explicit Fixture(bool anatomy = true) {
    hsa_error err;
    EXPECT_EQ(hsa_fixture_build(1, &s, &err), 0) << err.msg;
    if (anatomy) {
      EXPECT_EQ(hsa_fixture_add_anatomy(&s, &err), 0) << err.msg;
    }
  }
  ~Fixture() { hsa_snapshot_free(&s); }
};

template <typename F>
std::string Capture(F write) {
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  write(f);
  fclose(f);
  std::string out(buf, len);
  free(buf);
  return out;
}

hsa_options TypeKey() {
  hsa_options opt{};
  opt.key = HSA_KEY_TYPE;
  return opt;
}

TEST(StatsTypeTest, GroupsRowsByTypeName) {
  Fixture fx;
  hsa_options opt = TypeKey();
  hsa_stats st;
  hsa_error err;
  ASSERT_EQ(hsa_stats_compute(&fx.s, &opt, nullptr, &st, &err), 0) << err.msg;
  std::string text = Capture([&](FILE *f) { hsa_report_text(f, &st, 0); });
  EXPECT_EQ(text,
            "tuple: size=2048 B, count=2, average=1024 B\n"
            "P: size=1040 B, count=10, average=104 B\n"
            "dict: size=792 B, count=3, average=264 B\n"
            "<no type>: size=64 B, count=1, average=64 B\n"
            "float: size=48 B, count=2, average=24 B\n");
  std::string json = Capture([&](FILE *f) { hsa_report_json(f, &st, 2); });
  EXPECT_EQ(json,
            "{\"statistics\":[{\"type\":\"tuple\",\"size\":2048,\"count\":2},"
            "{\"type\":\"P\",\"size\":1040,\"count\":10}],\"total_size\":3992,\"total_count\":18}\n");
  hsa_stats_free(&st);
}

TEST(StatsTypeTest, FiltersApplyToTheRowSite) {
  Fixture fx;
  hsa_options opt = TypeKey();
  const char *inc[] = {"/app/a.py"};
  opt.include = inc;
  opt.ninclude = 1;
  hsa_stats st;
  hsa_error err;
  ASSERT_EQ(hsa_stats_compute(&fx.s, &opt, nullptr, &st, &err), 0) << err.msg;
  ASSERT_EQ(st.n, 2u);  // dict and float rows are at a.py:10
  EXPECT_STREQ(st.items[0].frames[0].filename, "dict");
  EXPECT_STREQ(st.items[1].frames[0].filename, "float");
  hsa_stats_free(&st);
}

TEST(StatsTypeTest, DiffByType) {
  Fixture a, b;
  b.s.rows[0].objects += 2;
  b.s.rows[0].bytes += 128;
  hsa_options opt = TypeKey();
  hsa_stats st;
  hsa_error err;
  ASSERT_EQ(hsa_stats_diff(&a.s, &b.s, &opt, nullptr, &st, &err), 0) << err.msg;
  ASSERT_GE(st.n, 1u);
  EXPECT_STREQ(st.items[0].frames[0].filename, "dict");
  EXPECT_EQ(st.items[0].size_diff, 128);
  EXPECT_EQ(st.items[0].count_diff, 2);
  hsa_stats_free(&st);
}

TEST(StatsTypeTest, NoAnatomyIsAnErrorThatSaysWhy) {
  Fixture fx(false);
  hsa_options opt = TypeKey();
  hsa_stats st;
  hsa_error err;
  fx.s.path = strdup("x.hsnap");
  fx.s.version = 1;
  ASSERT_EQ(hsa_stats_compute(&fx.s, &opt, nullptr, &st, &err), -1);
  std::string e = err.msg;
  EXPECT_EQ(e.rfind("x.hsnap: --key type needs object anatomy", 0), 0u) << e;
  EXPECT_NE(e.find("format-version-1"), std::string::npos) << e;
  EXPECT_NE(e.find("heapshape run"), std::string::npos) << e;
  fx.s.version = 2;  // v2 with flags2 clear: the pass did not run
  ASSERT_EQ(hsa_stats_compute(&fx.s, &opt, nullptr, &st, &err), -1);
  EXPECT_NE(std::string(err.msg).find("HEAPSHAPE_ANATOMY=0"), std::string::npos) << err.msg;
  fx.s.meta.python_version = 0;
  ASSERT_EQ(hsa_stats_compute(&fx.s, &opt, nullptr, &st, &err), -1);
  EXPECT_NE(std::string(err.msg).find("no Python interpreter"), std::string::npos) << err.msg;
}

TEST(AnatomyTest, RowsBiggestFirstWithTheSplit) {
  Fixture fx;
  hsa_options opt{};
  hsa_anatomy an;
  hsa_error err;
  ASSERT_EQ(hsa_anatomy_compute(&fx.s, &opt, nullptr, &an, &err), 0) << err.msg;
  ASSERT_EQ(an.n, 5u);
  EXPECT_STREQ(an.rows[0].type, "tuple");
  EXPECT_STREQ(an.rows[0].frame.filename, "/app/new.py");
  EXPECT_EQ(an.rows[0].frame.lineno, 3);
  const hsa_anat_row &p = an.rows[1];
  EXPECT_STREQ(p.type, "P");
  EXPECT_STREQ(p.frame.filename, "/usr/lib/python3.11/json/decoder.py");
  EXPECT_STREQ(p.frame.name, "raw_decode");
  EXPECT_EQ(p.objects, 10u);
  EXPECT_EQ(p.total, 1040u);
  EXPECT_EQ(p.gc, 160u);
  EXPECT_EQ(p.preheader, 160u);
  EXPECT_EQ(p.header, 160u);
  EXPECT_EQ(p.rounding, 40u);
  EXPECT_EQ(p.data, 160u);
  EXPECT_EQ(p.overhead, 880u);
  EXPECT_DOUBLE_EQ(p.overhead_share, 880.0 / 1040.0);
  const hsa_anat_row &d = an.rows[2];
  EXPECT_STREQ(d.type, "dict");
  EXPECT_EQ(d.rounding, 24u);  // own 0 + owned 24
  EXPECT_EQ(d.data, 72u);
  ASSERT_EQ(d.nshapes, 2u);
  EXPECT_EQ(d.shapes[0]->count, 2u);  // most common first
  EXPECT_STREQ(an.rows[3].type, "<no type>");
  // totals: OBJ sites of the NEW fixture hold 5000+64+12345678+100+100+2048+0 bytes; the only
  // untyped OBJ row holds 64
  uint64_t obj = 5000 + 64 + 12345678 + 100 + 100 + 2048;
  EXPECT_EQ(an.obj_bytes, obj);
  EXPECT_EQ(an.untyped_obj_bytes, 64u);
  EXPECT_DOUBLE_EQ(an.typed_obj_share, 1.0 - 64.0 / (double)obj);
  EXPECT_EQ(an.typed_bytes, 2048u + 1040 + 792 + 48);
  EXPECT_EQ(an.anatomy_bytes, an.typed_bytes + 64);
  EXPECT_DOUBLE_EQ(an.anatomy_ms, 1.234);
  hsa_anatomy_free(&an);
}

TEST(AnatomyTest, NoAnatomyIsAnError) {
  Fixture fx(false);
  hsa_options opt{};
  hsa_anatomy an;
  hsa_error err;
  EXPECT_EQ(hsa_anatomy_compute(&fx.s, &opt, nullptr, &an, &err), -1);
  EXPECT_NE(std::string(err.msg).find("heapshape anatomy needs object anatomy"), std::string::npos)
      << err.msg;
}

TEST(AnatomyTest, ShapeText) {
  Fixture fx;
  char buf[256];
  hsa_shape_format(&fx.s, "dict", &fx.s.shapes[1], buf, sizeof buf);
  EXPECT_STREQ(buf, "dict{x: float, y: float, mass: float}");
  hsa_shape_format(&fx.s, "dict", &fx.s.shapes[0], buf, sizeof buf);
  EXPECT_STREQ(buf, "dict{x: float, ...}");  // length 40, one field stored
  hsa_shape_format(&fx.s, "P", &fx.s.shapes[2], buf, sizeof buf);
  EXPECT_STREQ(buf, "P{x: float, y: int}");
  hsa_shape_format(&fx.s, "tuple", &fx.s.shapes[3], buf, sizeof buf);
  EXPECT_STREQ(buf, "tuple(float, int, str)");
  hsa_shape sh = fx.s.shapes[2];
  sh.kind = HS_SHAPE_INSTANCE_SLOTS;
  hsa_shape_format(&fx.s, "P", &sh, buf, sizeof buf);
  EXPECT_STREQ(buf, "P(slots){x: float, y: int}");
  hsa_shape_field lf[3] = {{0, 1}, {0, 1}, {0, HS_NO_TYPE}};
  hsa_shape list{0, 1, 1, HS_SHAPE_LIST, 3, 1000, lf, 0, {}, nullptr};
  hsa_shape_format(&fx.s, "list", &list, buf, sizeof buf);
  EXPECT_STREQ(buf, "list[float, float, ?, ...]");
  list.nfields = 0;
  list.length = 0;
  hsa_shape_format(&fx.s, "list", &list, buf, sizeof buf);
  EXPECT_STREQ(buf, "list[]");
  // cut to fit, with "..."
  hsa_shape_format(&fx.s, "dict", &fx.s.shapes[1], buf, 12);
  EXPECT_STREQ(buf, "dict{x: ...");
  EXPECT_STREQ(hsa_shape_kind_name(HS_SHAPE_LIST), "list");
}

TEST(AnatomyTest, TextReport) {
  Fixture fx;
  hsa_options opt{};
  hsa_anatomy an;
  hsa_error err;
  ASSERT_EQ(hsa_anatomy_compute(&fx.s, &opt, nullptr, &an, &err), 0) << err.msg;
  std::string t = Capture([&](FILE *f) { hsa_anatomy_report_text(f, &fx.s, &an, 3); });
  EXPECT_NE(t.find("/app/new.py:3 (<module>): tuple: objects=2, total=2048 B, average=1024 B\n"
                   "    gc header=32 B, pre-header=0 B, object header=48 B, owned=0 B\n"
                   "    data=0 B, headers & pointers=2048 B (100.0%), rounding=+0 B\n"
                   "    shape: tuple(float, int, str) (2/2)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("/app/a.py:10 (f): dict: objects=3, total=792 B, average=264 B\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("    shape: dict{x: float, y: float, mass: float} (2/3), +1 other shape\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("float: objects"), std::string::npos);  // limit 3
  EXPECT_NE(t.find("\ntotal: live="), std::string::npos) << t;
  EXPECT_NE(t.find("anatomy pass: 1.2 ms (python 3.11.2)\n"), std::string::npos) << t;
  for (size_t at = 0, nl; (nl = t.find('\n', at)) != std::string::npos; at = nl + 1)
    EXPECT_LE(nl - at, 100u) << t.substr(at, nl - at);
  hsa_anatomy_free(&an);
}

TEST(AnatomyTest, JsonReport) {
  Fixture fx;
  hsa_options opt{};
  hsa_anatomy an;
  hsa_error err;
  ASSERT_EQ(hsa_anatomy_compute(&fx.s, &opt, nullptr, &an, &err), 0) << err.msg;
  std::string j = Capture([&](FILE *f) { hsa_anatomy_report_json(f, &fx.s, &an, 0); });
  EXPECT_EQ(j.rfind("{\"rows\":[{\"filename\":\"/app/new.py\",\"lineno\":3,\"function\":\"<module>\","
                    "\"type\":\"tuple\",\"domain\":\"obj\",\"objects\":2,\"bytes\":2048,",
                    0),
            0u)
      << j;
  EXPECT_NE(j.find("{\"kind\":\"dict\",\"kind_id\":1,\"text\":\"dict{x: float, y: float, mass: "
                   "float}\",\"count\":2,\"samples\":3,\"length\":3,\"fields\":[{\"name\":\"x\","
                   "\"type\":\"float\"},"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"python_version\":\"3.11.2\",\"anatomy_ms\":1.234,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"total_rows\":5}\n"), std::string::npos) << j;
  hsa_anatomy_free(&an);
}

TEST(SizeModelTest, DerivedFromTypesAndMeta) {
  Fixture fx;  // 3.11.2 sizes
  hsa_size sz[HSA_NSIZES];
  hsa_error err;
  ASSERT_EQ(hsa_size_model(&fx.s, sz, &err), 0) << err.msg;
  const char *exprs[] = {"0", "2**30", "2**60", "1.0", "True", "False", "''", "'hello'", "()", "[]", "{}"};
  int64_t want[] = {28, 32, 36, 24, 28, 28, 49, 54, 40, 56, 64};
  for (int i = 0; i < HSA_NSIZES; i++) {
    EXPECT_STREQ(sz[i].expr, exprs[i]);
    EXPECT_EQ(sz[i].bytes, want[i]) << exprs[i] << " " << sz[i].formula;
  }
  // up to 3.10, zero has no digit
  fx.s.meta.python_version = 0x030a0df0u;
  ASSERT_EQ(hsa_size_model(&fx.s, sz, &err), 0);
  EXPECT_EQ(sz[0].bytes, 24);
  EXPECT_EQ(sz[5].bytes, 24);
  EXPECT_EQ(sz[4].bytes, 28);
  // 3.12: smaller str header comes from META
  fx.s.meta.python_version = 0x030c01f0u;
  fx.s.meta.str_ascii_size = 40;
  ASSERT_EQ(hsa_size_model(&fx.s, sz, &err), 0);
  EXPECT_EQ(sz[6].bytes, 41);
  EXPECT_EQ(sz[7].bytes, 46);
  // a class named "float" does not hide the built-in one; a missing type is reported
  uint32_t id;
  ASSERT_EQ(hsa_snapshot_add_type(&fx.s, "dict", HS_TYPE_HEAP, 0, 999, 0, &id, &err), 0);
  fx.s.types[1].name_sid = fx.s.types[0].name_sid;  // "float" renamed to "int": float missing
  ASSERT_EQ(hsa_size_model(&fx.s, sz, &err), 0);
  EXPECT_EQ(sz[10].bytes, 64);
  EXPECT_EQ(sz[3].bytes, -1);
  EXPECT_STREQ(sz[3].formula, "type float is not in the snapshot");
  std::string text = Capture([&](FILE *f) { hsa_sizes_report(f, &fx.s, sz, 0); });
  EXPECT_NE(text.find("0: 28 bytes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("1.0: unknown (type float is not in the snapshot)\n"), std::string::npos) << text;
  std::string json = Capture([&](FILE *f) { hsa_sizes_report(f, &fx.s, sz, 1); });
  EXPECT_NE(json.find("{\"expr\":\"0\",\"bytes\":28,\"formula\":\"int 24 + 1 x 4\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"expr\":\"1.0\",\"bytes\":null,"), std::string::npos) << json;
}

TEST(SizeModelTest, NeedsAnatomy) {
  Fixture fx(false);
  hsa_size sz[HSA_NSIZES];
  hsa_error err;
  EXPECT_EQ(hsa_size_model(&fx.s, sz, &err), -1);
  EXPECT_NE(std::string(err.msg).find("heapshape sizes needs object anatomy"), std::string::npos);
}

}  // namespace
