#include "tools/cluster/mini_xml.h"

#include <catch2/catch.hpp>

namespace hpc::cluster::xml {
namespace {

TEST_CASE("mini XML reads qstat-shaped documents", "[unit][cluster]") {
  auto doc = Parse(R"(<?xml version='1.0'?>
<!-- a comment -->
<job_info xmlns:xsd="http://x">
  <queue_info>
    <job_list state="running">
      <JB_job_number>12</JB_job_number>
      <JB_name>a &amp; b &lt;c&gt; &#65;&#x42;</JB_name>
      <empty/>
      <cdata><![CDATA[<raw> & text]]></cdata>
    </job_list>
  </queue_info>
  <job_info/>
</job_info>
)");
  REQUIRE(doc.ok());
  CHECK(doc->name == "job_info");
  CHECK(doc->attributes.at("xmlns:xsd") == "http://x");
  std::vector<const Element*> jobs;
  doc->FindAll("job_list", &jobs);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]->attributes.at("state") == "running");
  CHECK(jobs[0]->ChildText("JB_job_number") == "12");
  CHECK(jobs[0]->ChildText("JB_name") == "a & b <c> AB");
  CHECK(jobs[0]->ChildText("cdata") == "<raw> & text");
  CHECK(jobs[0]->Child("empty") != nullptr);
  CHECK(jobs[0]->ChildText("missing").empty());
}

TEST_CASE("mini XML rejects malformed input", "[unit][cluster]") {
  for (const char* bad :
       {"", "text", "<a>", "<a></b>", "<a x=1></a>", "<a>&bogus;</a>",
        "<a></a><b></b>", "<a x=\"1></a>", "<a><!-- </a>", "<a>&#xZZ;</a>"}) {
    INFO(bad);
    auto r = Parse(bad);
    CHECK_FALSE(r.ok());
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  CHECK_FALSE(Parse(deep).ok());
}

}  // namespace
}  // namespace hpc::cluster::xml
