#include "inference_thread.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <thread>

namespace pytorch_infer {
namespace {

class InferenceThread {
 public:
  InferenceThread() : thread_([this] { Loop(); }) { thread_.detach(); }

  std::future<void> Post(const std::function<void()>& job) {
    std::packaged_task<void()> task(job);
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return done;
  }

 private:
  void Loop() {
    // Named so that top -H and /proc/PID/task tell the forwards apart from the libuv pool's decodes.
    pthread_setname_np(pthread_self(), "pti-inference");
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();  // an exception goes into the task's future
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  std::thread thread_;  // last: starts once the queue exists
};

}  // namespace

void RunOnInferenceThread(int lane, const std::function<void()>& job) {
  // Started on first use and never destroyed: they are parked on their queues when the process exits.
  static std::mutex mutex;
  static InferenceThread* threads[kMaxLanes] = {};
  if (lane < 0 || lane >= kMaxLanes) throw std::out_of_range("inference lane out of range");
  InferenceThread* thread;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!threads[lane]) threads[lane] = new InferenceThread();
    thread = threads[lane];
  }
  thread->Post(job).get();
}

}  // namespace pytorch_infer
