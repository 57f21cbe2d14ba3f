// End-to-end tests of `vlm localize` and `vlm eval-localize` with the tiny random-weight checkpoint
// (tests/fixtures/models/tiny-a) on clips generated here with GStreamer's videotestsrc. A random
// model's answers are noise, so these tests check the contract, not accuracy: valid JSON / SRT /
// self-contained HTML, a real SIGKILL mid-run followed by --resume giving byte-identical output,
// a truncated file keeping its earlier spans and exiting 1, usage errors exiting 2, and the
// evaluation figures of a hand-made case (worked out in the comments).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class LocalizeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("vlm_localize_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    clip_ = dir_ / "clip20.mkv";
    std::string command =
        "gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=200 ! "
        "video/x-raw,width=160,height=120,framerate=10/1 ! videoconvert ! jpegenc ! matroskamux ! "
        "filesink location=" + clip_.string() + " > /dev/null 2>&1";
    if (std::system(command.c_str()) != 0 || !fs::exists(clip_)) clip_.clear();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void SetUp() override {
    const char* cli = std::getenv("VLM_CLI");
    const char* fixtures = std::getenv("VLM_FIXTURES");
    ASSERT_NE(cli, nullptr) << "VLM_CLI must name the vlm binary";
    ASSERT_NE(fixtures, nullptr);
    cli_ = cli;
    model_ = fs::path(fixtures) / "models" / "tiny-a";
    if (clip_.empty()) GTEST_SKIP() << "gst-launch-1.0 could not generate a test clip";
  }
  std::string localize_args(const fs::path& video, const std::string& extra) const {
    return cli_ + " localize --model " + model_.string() + " --video " + video.string() +
           " --query 'a ball bounces' --query 'a red car stops' --window 8 --stride 4"
           " --max-pixels 12544 --progress none " + extra;
  }
  static int run(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static inline fs::path dir_, clip_;
  std::string cli_;
  fs::path model_;
};

TEST_F(LocalizeCli, WritesValidJsonSrtAndSelfContainedHtml) {
  fs::path out = dir_ / "a.json", srt = dir_ / "a.srt", html = dir_ / "a.html";
  ASSERT_EQ(run(localize_args(clip_, "--out " + out.string() + " --srt " + srt.string() +
                                         " --html " + html.string() + " 2> " + (dir_ / "a.err").string())),
            0)
      << read_text(dir_ / "a.err");
  nlohmann::json j = nlohmann::json::parse(read_text(out));  // throws on invalid JSON
  EXPECT_TRUE(j.at("complete").get<bool>());
  double duration = j.at("duration").get<double>();
  EXPECT_NEAR(duration, 20.0, 1.0);
  ASSERT_EQ(j.at("queries").size(), 2u);
  EXPECT_EQ(j["queries"][0]["query"], "a ball bounces");
  int spans = 0;
  for (const auto& q : j["queries"]) {
    EXPECT_GE(q.at("spans").size(), 1u);  // the best window of each query is always refined
    double previous_score = 2.0;
    for (const auto& s : q["spans"]) {
      double start = s.at("start").get<double>(), end = s.at("end").get<double>();
      EXPECT_GE(start, 0.0);
      EXPECT_LT(start, end);
      EXPECT_LE(end, duration + 1e-9);
      EXPECT_LE(s.at("score").get<double>(), previous_score);
      previous_score = s["score"].get<double>();
      ++spans;
    }
  }
  EXPECT_FALSE(fs::exists(out.string() + ".partial.json")) << "finished runs remove their checkpoint";

  std::string subtitles = read_text(srt);
  std::regex cue(R"((\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n[^\n]+\n\n)");
  int cues = 0;
  for (auto it = std::sregex_iterator(subtitles.begin(), subtitles.end(), cue); it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(std::stoi((*it)[1]), ++cues);
  }
  EXPECT_EQ(cues, spans);
  EXPECT_EQ(count(subtitles, " --> "), spans) << "every cue must have the SRT shape";

  std::string page = read_text(html);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("</html>"), std::string::npos);
  EXPECT_NE(page.find("a ball bounces"), std::string::npos);
  EXPECT_EQ(count(page, "class=\"timeline\""), 2);
  EXPECT_EQ(count(page, "<a class=\"span\" href=\"#q"), spans);
  EXPECT_EQ(count(page, "<tr id=\"q"), spans);
  EXPECT_EQ(count(page, "src=\"data:image/png;base64,iVBORw0KGgo"), spans);  // PNG signature
  EXPECT_EQ(std::count_if(page.begin(), page.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t'; }),
            0)
      << "the random model's answers hold control characters; the report must not";
  EXPECT_EQ(page.find("http://"), std::string::npos) << "the report must not load anything";
  EXPECT_EQ(page.find("https://"), std::string::npos);

  // Rendered by a headless browser when one is installed (Debian: chromium).
  if (run("command -v chromium > /dev/null 2>&1") == 0) {
    fs::path png = dir_ / "a.png";
    run("timeout 120 chromium --headless --no-sandbox --disable-gpu --screenshot=" + png.string() +
        " --window-size=1200,900 file://" + html.string() + " > /dev/null 2>&1");
    ASSERT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 1000u);
  }
}

TEST_F(LocalizeCli, ResumeAfterSigkillGivesIdenticalOutput) {
  fs::path reference = dir_ / "ref.json", resumed = dir_ / "resumed.json";
  // Many small windows: the run has dozens of model calls left when the kill arrives.
  const std::string windows = "--window 4 --stride 1 ";
  ASSERT_EQ(run(localize_args(clip_, windows + "--out " + reference.string())), 0);

  // Start a run, kill it with SIGKILL once it reports its first finished window.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::string command = localize_args(clip_, windows + "--out " + resumed.string());
  command.replace(command.find("--progress none"), 15, "--progress json");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string seen;
  char buffer[256];
  ssize_t n;
  while (seen.find("\"phase\":\"coarse\"") == std::string::npos &&
         (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    seen.append(buffer, static_cast<size_t>(n));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(pipe_fds[0]);
  if (!WIFSIGNALED(status)) GTEST_SKIP() << "the run finished before it could be killed (slow machine)";
  ASSERT_TRUE(fs::exists(resumed.string() + ".partial.json")) << seen;

  ASSERT_EQ(run(localize_args(clip_, windows + "--out " + resumed.string() + " --resume")), 0);
  EXPECT_EQ(read_text(resumed), read_text(reference));
}

TEST_F(LocalizeCli, TruncatedFileKeepsEarlierSpansAndFails) {
  fs::path truncated = dir_ / "truncated.mkv";
  {
    std::string bytes = read_text(clip_);
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  fs::path out = dir_ / "t.json", err = dir_ / "t.err";
  EXPECT_EQ(run(localize_args(truncated, "--out " + out.string() + " 2> " + err.string())), 1);
  EXPECT_NE(read_text(err).find("stopped after"), std::string::npos) << read_text(err);
  nlohmann::json j = nlohmann::json::parse(read_text(out));
  EXPECT_FALSE(j.at("complete").get<bool>());
  EXPECT_LT(j.at("decoded_until").get<double>(), 15.0);
  EXPECT_FALSE(j.at("decode_error").get<std::string>().empty());
  EXPECT_GE(j["queries"][0]["spans"].size(), 1u);
}

TEST_F(LocalizeCli, UsageErrorsExitTwo) {
  fs::path err = dir_ / "u.err";
  EXPECT_EQ(run(cli_ + " localize --model " + model_.string() + " --video " + clip_.string() +
                " 2> " + err.string()),
            2);
  EXPECT_NE(read_text(err).find("--query"), std::string::npos);
  EXPECT_EQ(run(localize_args(clip_, "--window 1 --stride 1 2> " + err.string())), 2);
  EXPECT_NE(read_text(err).find("two samples"), std::string::npos) << read_text(err);
  EXPECT_EQ(run(localize_args(clip_, "--resume 2> " + err.string())), 2);  // no --out
}

TEST_F(LocalizeCli, EvalLocalizePrintsHandComputedFigures) {
  fs::path result = dir_ / "r.json", truth = dir_ / "truth.json", out = dir_ / "e.json";
  std::ofstream(result) << R"({"video": "/videos/AB12.mp4", "queries": [
      {"query": "person opens the door", "spans": [{"start": 2, "end": 8, "score": 0.9, "text": ""}]},
      {"query": "person sits down", "spans": [{"start": 10, "end": 20, "score": 0.5, "text": ""}]}]})";
  // Truth AB12: door [0, 8] vs [2, 8]: IoU 6/8 = 0.75; sits [12, 22] vs [10, 20]: 8/12 = 2/3;
  // "person laughs" has no result: IoU 0. R@0.3 = 2/3, R@0.5 = 2/3, R@0.7 = 1/3,
  // mIoU = (0.75 + 2/3 + 0) / 3 = 17/36.
  std::ofstream(truth) << R"({"AB12": {"duration": 30, "timestamps": [[0, 8], [12, 22], [1, 2]],
      "sentences": ["person opens the door.", "Person sits down.", "person laughs."]}})";
  ASSERT_EQ(run(cli_ + " eval-localize --result " + result.string() + " --truth " + truth.string() +
                " > " + out.string()),
            0);
  nlohmann::json j = nlohmann::json::parse(read_text(out));
  EXPECT_EQ(j.at("count"), 3);
  EXPECT_EQ(j.at("missing"), 1);
  EXPECT_NEAR(j.at("R@1,IoU=0.3").get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(j.at("R@1,IoU=0.5").get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(j.at("R@1,IoU=0.7").get<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(j.at("mIoU").get<double>(), 17.0 / 36.0, 1e-12);
  EXPECT_EQ(run(cli_ + " eval-localize --truth " + truth.string() + " 2> /dev/null"), 2);
  EXPECT_EQ(run(cli_ + " eval-localize --result " + truth.string() + " --truth " + truth.string() +
                " 2> /dev/null"),
            1);  // a truth file is not a result file
}

}  // namespace
