#include "tools/checkpoint/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>

namespace hpc::checkpoint {
namespace {

std::string Hex(const unsigned char* md, unsigned int len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// The file's digest, streamed through `buf`. Stops early (error
// "cancelled") when `stop` is requested.
FileHash HashOne(const HashTask& task, unsigned char* buf, size_t buf_size,
                 std::atomic<uint64_t>& done, const std::stop_token& stop) {
  FileHash out;
  int fd = ::open(task.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    out.error = errno == ELOOP ? "is a symbolic link" : std::strerror(errno);
    return out;
  }
  // Tell the kernel to read ahead aggressively: the file is read once,
  // front to back.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    ::close(fd);
    out.error = "OpenSSL could not start a SHA-256 digest";
    return out;
  }
  for (;;) {
    if (stop.stop_requested()) {
      out.error = "cancelled";
      break;
    }
    ssize_t n = ::read(fd, buf, buf_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = std::string("read failed: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(n));
    out.bytes += static_cast<uint64_t>(n);
    done.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  }
  ::close(fd);
  if (!out.error.empty()) return out;
  if (out.bytes != task.size) {
    out.error = "size changed while it was read (listed " +
                std::to_string(task.size) + " bytes, read " +
                std::to_string(out.bytes) + "): something is still writing it";
    return out;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  out.sha256 = Hex(md, len);
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::vector<FileHash>> HashLocalFiles(const std::vector<HashTask>& tasks,
                                             const HashOptions& options) {
  std::vector<FileHash> results(tasks.size());
  if (tasks.empty()) return results;
  // Largest first (longest-processing-time order) balances the cores.
  std::vector<size_t> order(tasks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tasks[a].size > tasks[b].size;
  });
  uint64_t total = 0;
  for (const auto& t : tasks) total += t.size;

  int threads =
      options.threads > 0
          ? options.threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min<int>(threads, static_cast<int>(tasks.size()));
  const size_t buf_size = std::max<size_t>(options.buffer_bytes, 4096);

  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  std::mutex mu;
  std::condition_variable cv;
  int running = threads;
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      auto buf = std::make_unique<unsigned char[]>(buf_size);
      for (;;) {
        size_t k = next.fetch_add(1);
        if (k >= order.size() || options.stop.stop_requested()) break;
        results[order[k]] =
            HashOne(tasks[order[k]], buf.get(), buf_size, done, options.stop);
      }
      std::lock_guard<std::mutex> l(mu);
      if (--running == 0) cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> l(mu);
    const auto every =
        std::chrono::milliseconds(std::max(10, options.progress_every_ms));
    while (!cv.wait_for(l, every, [&] { return running == 0; })) {
      if (options.progress) {
        l.unlock();
        options.progress(done.load(std::memory_order_relaxed), total);
        l.lock();
      }
    }
  }
  for (auto& w : workers) w.join();
  if (options.stop.stop_requested())
    return Cancelled("hashing was cancelled after " +
                     std::to_string(done.load()) + " of " +
                     std::to_string(total) + " bytes");
  if (options.progress) options.progress(done.load(), total);
  return results;
}

}  // namespace hpc::checkpoint
