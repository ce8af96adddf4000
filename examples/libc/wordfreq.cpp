// wordfreq: a small C++ program for the libc path of docs/LINKING.md:
// operator new/delete (direct, arrays, aligned, through std::string,
// std::vector and std::map), all in linalloc's heap. Counts the words of
// its stdin and prints the most frequent; builds natively with g++ too.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct alignas(64) Block {  // aligned operator new (C++17)
  unsigned char bytes[64];
};

struct Node {  // a hand-made list: plain new/delete
  std::string word;
  Node *next;
};

int main() {
  std::map<std::string, int> counts;
  std::string word;
  std::vector<std::string> order;
  for (int c; (c = std::getchar()) != EOF;) {
    if (std::isalpha(c) || c == '\'') {
      word += static_cast<char>(std::tolower(c));
    } else if (!word.empty()) {
      if (counts[word]++ == 0) order.push_back(word);
      word.clear();
    }
  }
  if (!word.empty() && counts[word]++ == 0) order.push_back(word);

  std::vector<std::pair<std::string, int>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) { return a.second > b.second; });
  std::size_t total = 0;
  for (const auto &p : ranked) total += static_cast<std::size_t>(p.second);
  std::printf("%zu words, %zu distinct\n", total, ranked.size());
  for (std::size_t i = 0; i < ranked.size() && i < 12; i++) {
    std::printf("%3zu. %-14s %3d %5.1f%%\n", i + 1, ranked[i].first.c_str(), ranked[i].second, 100.0 * ranked[i].second / static_cast<double>(total));
  }

  Node *head = nullptr;  // the first words, reversed
  for (std::size_t i = 0; i < order.size() && i < 8; i++) head = new Node{order[i], head};
  std::string line;
  for (Node *n = head; n;) {
    line += n->word + (n->next ? " < " : "");
    Node *next = n->next;
    delete n;
    n = next;
  }
  std::printf("first words, last first: %s\n", line.c_str());

  auto blocks = std::make_unique<Block[]>(5);
  auto *one = new Block();
  bool aligned = reinterpret_cast<std::uintptr_t>(blocks.get()) % 64 == 0 && reinterpret_cast<std::uintptr_t>(one) % 64 == 0;
  delete one;
  int *array = new int[1000]();
  long sum = 0;
  for (int i = 0; i < 1000; i++) sum += array[i] + i;
  delete[] array;
  std::printf("aligned new: %s; new int[1000]() sums to %ld\n", aligned ? "yes" : "no", sum);
  return 0;
}
