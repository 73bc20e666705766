#include "inference_thread.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
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

void RunOnInferenceThread(const std::function<void()>& job) {
  // Never destroyed: the thread is parked on the queue when the process exits.
  static InferenceThread* thread = new InferenceThread();
  thread->Post(job).get();
}

}  // namespace pytorch_infer
