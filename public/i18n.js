// i18n.js: every word on the page, in English and Simplified Chinese.
//
// Elements carry data-i18n="key" (their text) or data-i18n-label="key"
// (their aria-label); apply() fills them in. Code calls t(key, {params}).
// Text is always set with textContent: no translation is HTML.
//
// What only the server knows is not written here: texts quote its figures
// through parameters (setFacts), and a WebSocket close code's meaning is the
// server's own text (GET /api/config), which a table may translate, keyed
// by code ('code.4500'); English has only the codes that are the browser's.

const en = {
  'title': 'fourway',
  'tagline': 'One message feed, four ways to read it, side by side and live. Publish, cut a connection, go offline, and watch what each transport does.',
  'lang': 'Language',
  'controls': 'Controls',
  'publish': 'Publish a message',
  'name': 'Name',
  'text': 'Message',
  'send': 'Send',
  'sent': 'Sent as id {id}.',
  'sendFailed': 'Not sent: {error}',
  'auto': 'Auto-publish, messages per second',
  'pollInterval': 'Short-poll interval, seconds',
  'lpTimeout': 'Long-poll timeout, seconds',
  'faults': 'Faults',
  'offline': 'Go offline for {s} s',
  'offlineOn': 'Offline: {s} s left',
  'offlineHelp': 'Every client on this page loses the network for {s} s: connections are cut and every attempt fails. Watch the backoff, then the resume from each cursor: gaps must stay 0.',
  'cutAll': 'Cut all connections',
  'cut': 'Cut',
  'cutLabel': 'Cut the {name} connections',
  'cutDone': 'Cut {n} connection(s).',
  'cutFailed': 'Not cut: {error}',
  'cutHelp': 'A cut closes the connections of that transport at the server without a goodbye, as a network failure would, for every tab and client.',
  'nothingToCut': 'Nothing to cut: no connection is held between polls.',
  'clockAssumed': 'Latency clock: the page assumes it shares the server\'s clock (one machine). Publish a message to measure the offset.',
  'clockMeasured': 'Latency clock: the server\'s clock is {offset} ms ahead of this page\'s, ± {err} ms: bounded NTP-style by {n} publish round trips, and by every message received (none arrives before it was sent).',

  'poll': 'Short polling',
  'longpoll': 'Long polling',
  'sse': 'Server-Sent Events',
  'ws': 'WebSocket',

  'state.connecting': 'connecting',
  'state.open': 'open',
  'state.open.poll': 'idle between polls',
  'state.waiting': 'waiting',
  'state.reconnecting': 'reconnecting in {s} s',
  'state.reconnectingLive': 'reconnecting',
  'state.closed': 'closed',
  'detail.poll': 'next poll in {s} s',
  'detail.longpoll': 'a request waits at the server, up to {s} s',
  'detail.sse': 'one response, never ending',
  'detail.ws': 'app ping every {s} s',
  'detail.connecting.longpoll': 'the first request asks for an answer within 1 s',
  'why.slot': 'for a free connection: other tabs of this page hold the browser\'s connections to this server (see the note above)',
  'why.hidden': 'tab hidden: its connections are lent to another tab; it resumes from its cursor when shown',
  'why.offline': 'offline',
  'why.error': 'the request failed',
  'why.busy': 'the server is at its connection limit (HTTP {code})',
  'why.status': 'the server answered HTTP {code}: {reason}',
  'why.dead': 'the watchdog found the connection dead',
  'why.browser': 'the browser retries by itself, sending Last-Event-ID: {id}',
  'why.config': 'for the server\'s settings (see the note above)',
  'why.close': '(close code {code}: {meaning})',
  'code.1000': 'closed normally',
  'code.1006': 'cut without a close frame (network or server)',
  'code.4000': 'this page gave up on the connection (offline, or the watchdog)',
  'code.http': 'HTTP {code}: {reason}',
  'code.unknown': 'unexpected close',

  'thisTab': 'This tab',
  'server': 'Server, all clients',
  'received': 'messages',
  'gaps': 'gaps',
  'dups': 'duplicates',
  'reconnects': 'reconnects',
  'resets': 'resets',
  'empty': 'empty answers',
  'requests': 'HTTP requests',
  'clients': 'clients now',
  'latency': 'Latency, publish to receipt',
  'p50': 'p50',
  'p99': 'p99',
  'window': 'last {n}',
  'chartLabel': 'Latency over the last 60 s, one dot per message, time from left to right, logarithmic scale from 0.1 ms to 30 s, dashed lines at p50 and p99',
  'chart.now': 'now',
  'unit.ms': 'ms',
  'unit.s': 's',

  'cost.h': 'Cost on the wire, last {window} s, all clients',
  'cost.rate': '{published} msg/s published, {delivered} msg/s delivered, {requests} requests in {s} s',
  'cost.value': '{bytes} B · {per} B/msg',
  'cost.perMessage': '{per} B',
  'cost.messages': 'the messages',
  'cost.headers': 'HTTP headers',
  'cost.framing': 'framing',
  'cost.handshakes': 'handshakes',
  'cost.heartbeats': 'heartbeats',
  'cost.total': 'all, on the sockets',

  'in.h': 'Inside the client, live',
  'in.request': 'request',
  'in.position': 'since={cursor} epoch={epoch}',
  'in.retry': 'reconnect timer',
  'in.readyState': 'readyState',
  'in.url': 'url',
  'in.lastEventId': 'lastEventId',
  'in.retryHint': 'the server\'s retry:',
  'in.sends': 'the browser\'s retry sends',
  'in.bufferedAmount': 'bufferedAmount',
  'in.heartbeat': 'heartbeat',
  'in.lastClose': 'last close',
  'in.none': 'none',
  'in.retryIn': 'fires in {s} s',
  'in.inflight': 'in flight for {age} of {timeout}',
  'in.nextPoll': 'none; the next in {s} s',
  'in.noObject': 'no {name} (between connections)',
  'in.empty': '(empty)',
  'in.sendsURL': 'no Last-Event-ID: a new EventSource has the position in its URL',
  'in.bytes': '{n} B not yet sent',
  'in.heartbeatIs': 'next ping in {next} s · last heard {heard} s ago · watchdog in {deadline} s',
  'in.close': '{code} {reason}: {meaning}',
  'in.noReason': '(no reason)',
  'ws.publish': 'Publish over this WebSocket',
  'ws.send': 'Send a frame',
  'ws.acked': 'Acked on the same socket: id {id}, ref {ref}, after {ms}.',
  'messages': 'Messages, newest first',
  'explain': 'How it works, what it costs, what breaks it, when to pick it',
  'missed': 'Missed {n} message(s): older than the server keeps. Continuing from the oldest it has.',
  'reset': 'Reset: the server restarted, and its ids started over (a new epoch). Continuing from its first message.',
  'watchdog': 'Watchdog: no sign of life, reconnecting.',
  'resent': 'Cut: the server closed the held request after {s} s, before any answer. The browser sent it again by itself (HTTP/1.1 lets a client re-send a request whose kept-alive connection closed before answering), from the same cursor: since={cursor} epoch={epoch}.',

  'how': 'How it works',
  'cost': 'What one message costs',
  'breaks': 'What breaks it',
  'pick': 'When to pick it',

  'explain.poll.how': 'Every few seconds the client asks "anything after my cursor?" and the server answers at once, often with nothing. The answer\'s "next" is the cursor for the following request.',
  'explain.poll.cost': 'A whole HTTP request and response, several hundred bytes of headers, per poll, not per message. On a quiet feed most polls come back empty: see the "empty answers" counter. Latency is half the interval on average.',
  'explain.poll.breaks': 'Almost nothing: every proxy, cache and firewall lets short requests through, and nothing is held open to be cut. Its weakness is waste and delay, not fragility.',
  'explain.poll.pick': 'Updates that may be seconds late, few clients, or a network where nothing else gets through. The fallback of fallbacks.',
  'explain.longpoll.how': 'The client asks for messages after its cursor, and the server holds the request until one exists or the timeout passes. The client asks again at once, so a request nearly always waits at the server.',
  'explain.longpoll.cost': 'Still a whole request and response, but per message (or per batch) instead of per tick, plus an empty answer per timeout on a quiet feed.',
  'explain.longpoll.breaks': 'Proxies with read timeouts shorter than the hold time (keep it under 60 s), and the browser\'s six connections per host: each waiting request holds one.',
  'explain.longpoll.pick': 'Near-real-time delivery where streaming is not let through, or as the fallback behind SSE and WebSocket.',
  'explain.sse.how': 'One HTTP response that never ends: the server writes each message as an event with an id, epoch:id (the epoch changes when the server restarts and its ids start over). The browser\'s EventSource reconnects by itself and sends the last id as Last-Event-ID, so resume is built in.',
  'explain.sse.cost': 'Headers once per connection, then some 20 to 30 bytes per message ("id:", "data:", a blank line, chunk framing). A ": ping" comment every {keepalive} s keeps proxies from closing an idle stream.',
  'explain.sse.breaks': 'Proxies that buffer responses, idle timeouts, and HTTP/1.1\'s six connections per host: every tab holds one stream. It is one-way; the client publishes with ordinary POSTs.',
  'explain.sse.pick': 'Server-to-client feeds (notifications, tickers, logs, progress) where plain HTTP and automatic resume matter more than a channel back.',
  'explain.ws.how': 'An HTTP request "upgrades" to a two-way connection of frames. The server sends each message as one frame the moment it is published. The browser resumes nothing: the client keeps its cursor and the server\'s epoch (which a restart changes) and reconnects with ?since=&epoch=.',
  'explain.ws.cost': 'A 2-byte frame header for a small message (4 bytes up to 64 KiB); the handshake is paid once. The cheapest per message by far.',
  'explain.ws.breaks': 'Proxies that do not pass the Upgrade, idle timeouts (hence heartbeats), and dead connections that TCP does not notice (hence the ping and watchdog). The server must check the Origin.',
  'explain.ws.pick': 'Two-way and low latency (chat, games, collaboration), or many messages per second per client.',

  'compare': 'The four compared',
  'compareNote': 'Overhead and latency are measured live: overhead is the bytes on the server\'s sockets over the last {window} s per message delivered, minus the message itself (all clients of this server; empty polls, handshakes and heartbeats count); latency is this tab\'s p50.',
  'compareScroll': 'The table is wider than the screen: scroll it sideways.',
  'col.transport': 'Transport',
  'col.direction': 'Direction',
  'col.overhead': 'Overhead per message (live)',
  'col.latency': 'Latency p50 (live)',
  'col.proxies': 'Proxies and idle timeouts',
  'col.sixConn': 'HTTP/1.1: six connections per host',
  'col.support': 'Browser support',
  'cmp.poll.direction': 'client pulls; publish with POST',
  'cmp.poll.proxies': 'passes everything; nothing idle to time out',
  'cmp.poll.sixConn': 'not held: borrows one briefly per poll',
  'cmp.poll.support': 'everywhere (fetch)',
  'cmp.longpoll.direction': 'server to client (held request); publish with POST',
  'cmp.longpoll.proxies': 'read timeouts cut held requests; keep the hold under 60 s',
  'cmp.longpoll.sixConn': 'holds one per tab',
  'cmp.longpoll.support': 'everywhere (fetch)',
  'cmp.sse.direction': 'server to client; publish with POST',
  'cmp.sse.proxies': 'buffering proxies stall it; needs pings against idle timeouts',
  'cmp.sse.sixConn': 'holds one per tab (not under HTTP/2)',
  'cmp.sse.support': 'all current browsers (EventSource)',
  'cmp.ws.direction': 'both ways on one connection',
  'cmp.ws.proxies': 'needs Upgrade through every proxy; needs pings against idle timeouts',
  'cmp.ws.sixConn': 'not counted: browsers pool WebSockets apart',
  'cmp.ws.support': 'all current browsers (WebSocket)',

  'limit.stuck': 'This tab seems stuck behind the browser\'s limit of six connections per host (HTTP/1.1): a request has waited {s} s in the browser\'s own queue while the WebSocket is fine. Other tabs of this page hold connections open (each SSE stream and each waiting long poll holds one). Close a tab, or serve over HTTP/2, which has no such limit.',
  'limit.slot': 'Other tabs of this page hold the connections this tab\'s SSE stream or long poll needs. A browser opens at most six HTTP/1.1 connections to one host, shared by all tabs; this page lets its held requests take four of them, so that short requests never hang, and a panel waits for a free one instead. Close or hide another tab and it continues from its cursor.',
  'footer': 'fourway: one Go server, four transports, one cursor. Counters under "Server" come from /api/stats, counted at the server\'s sockets (headers and framing included).',
  'config.failed': 'This page cannot read the server\'s settings (GET /api/config: {error}). It does not guess them, so the four clients wait.',
  'config.retry': 'Trying again in {s} s.',
};

const zh = {
  'title': 'fourway',
  'tagline': '同一条消息流，四种读取方式，并排实时展示。发送消息、切断连接、模拟断网，看看每种传输方式如何应对。',
  'lang': '语言',
  'controls': '控制',
  'publish': '发送消息',
  'name': '名字',
  'text': '消息',
  'send': '发送',
  'sent': '已发送，编号 {id}。',
  'sendFailed': '未发送：{error}',
  'auto': '自动发送，每秒条数',
  'pollInterval': '短轮询间隔（秒）',
  'lpTimeout': '长轮询超时（秒）',
  'faults': '故障演示',
  'offline': '断网 {s} 秒',
  'offlineOn': '断网中：还剩 {s} 秒',
  'offlineHelp': '本页所有客户端断网 {s} 秒：连接被切断，每次重连都失败。观察退避重连，以及之后从各自游标处的续传：缺失数必须保持为 0。',
  'cutAll': '切断全部连接',
  'cut': '切断',
  'cutLabel': '切断 {name} 的连接',
  'cutDone': '已切断 {n} 个连接。',
  'cutFailed': '未能切断：{error}',
  'cutHelp': '切断会在服务器端直接关闭该传输方式的连接，不发送关闭帧，如同网络故障；影响所有标签页和客户端。',
  'nothingToCut': '无可切断：两次轮询之间不保持连接。',
  'clockAssumed': '延迟时钟：页面假定与服务器共用一个时钟（同一台机器）。发送一条消息即可测量偏差。',
  'clockMeasured': '延迟时钟：服务器时钟比本页快 {offset} 毫秒，± {err} 毫秒：上下限按 NTP 的方法由 {n} 次发送往返求得，每条收到的消息也会收紧下限（消息不可能在发送前到达）。',

  'poll': '短轮询',
  'longpoll': '长轮询',
  'sse': '服务器发送事件（SSE）',
  'ws': 'WebSocket',

  'state.connecting': '连接中',
  'state.open': '已连接',
  'state.open.poll': '空闲（两次轮询之间）',
  'state.waiting': '等待中',
  'state.reconnecting': '{s} 秒后重连',
  'state.reconnectingLive': '正在重连',
  'state.closed': '已关闭',
  'detail.poll': '{s} 秒后下一次轮询',
  'detail.longpoll': '一个请求在服务器端等待，最长 {s} 秒',
  'detail.sse': '一个永不结束的响应',
  'detail.ws': '每 {s} 秒发送应用层 ping',
  'detail.connecting.longpoll': '首个请求要求服务器在 1 秒内应答',
  'why.slot': '没有空闲连接：本页的其他标签页占用了浏览器到该服务器的连接（见上方说明）',
  'why.hidden': '标签页已隐藏：连接让给了其他标签页；显示时从游标处继续',
  'why.offline': '断网',
  'why.error': '请求失败',
  'why.busy': '服务器已达连接数上限（HTTP {code}）',
  'why.status': '服务器应答 HTTP {code}：{reason}',
  'why.dead': '看门狗判定连接已失效',
  'why.browser': '浏览器自行重连，并发送 Last-Event-ID: {id}',
  'why.config': '尚未读到服务器的设置（见上方说明）',
  'why.close': '（关闭码 {code}：{meaning}）',
  'code.1000': '正常关闭',
  'code.1006': '未收到关闭帧即断开（网络或服务器）',
  'code.4000': '本页放弃了该连接（断网或看门狗）',
  // The server's meanings (GET /api/config), translated; a code not here is shown in the server's words.
  'code.1001': '服务器正在关闭，已发出所有已确认的消息',
  'code.1003': '收到了二进制帧',
  'code.1008': '连续十个错误帧，或连续十次被拒绝的发送',
  'code.1009': '帧超过大小上限',
  'code.1013': '服务器已达连接数上限',
  'code.4001': '本客户端跟不上，被丢弃',
  'code.4500': '被使用同一客户端编号的新连接取代',
  'code.http': 'HTTP {code}：{reason}',
  'code.unknown': '意外关闭',

  'thisTab': '本标签页',
  'server': '服务器（所有客户端）',
  'received': '消息',
  'gaps': '缺失',
  'dups': '重复',
  'reconnects': '重连次数',
  'resets': '重置次数',
  'empty': '空响应',
  'requests': 'HTTP 请求',
  'clients': '当前客户端',
  'latency': '延迟：从发送到接收',
  'p50': '中位数',
  'p99': '99 分位',
  'window': '最近 {n} 条',
  'chartLabel': '最近 60 秒的延迟，每条消息一个点，时间从左到右，对数刻度 0.1 毫秒至 30 秒，虚线为中位数和 99 分位',
  'chart.now': '现在',
  'unit.ms': '毫秒',
  'unit.s': '秒',

  'cost.h': '网络传输开销：最近 {window} 秒，所有客户端',
  'cost.rate': '每秒发布 {published} 条，每秒送达 {delivered} 条，{s} 秒内 {requests} 个请求',
  'cost.value': '{bytes} 字节 · 每条 {per} 字节',
  'cost.perMessage': '{per} 字节',
  'cost.messages': '消息本身',
  'cost.headers': 'HTTP 头部',
  'cost.framing': '帧与封装',
  'cost.handshakes': '握手',
  'cost.heartbeats': '心跳',
  'cost.total': '套接字上的全部字节',

  'in.h': '客户端内部（实时）',
  'in.request': '请求',
  'in.position': 'since={cursor} epoch={epoch}',
  'in.retry': '重连计时器',
  'in.readyState': 'readyState',
  'in.url': 'url',
  'in.lastEventId': 'lastEventId',
  'in.retryHint': '服务器的 retry:',
  'in.sends': '浏览器重连时发送',
  'in.bufferedAmount': 'bufferedAmount',
  'in.heartbeat': '心跳',
  'in.lastClose': '上次关闭',
  'in.none': '无',
  'in.retryIn': '{s} 秒后触发',
  'in.inflight': '已发出 {age}，超时 {timeout}',
  'in.nextPoll': '无；下一次在 {s} 秒后',
  'in.noObject': '没有 {name}（两次连接之间）',
  'in.empty': '（空）',
  'in.sendsURL': '不发送 Last-Event-ID：新的 EventSource 把位置写在 URL 里',
  'in.bytes': '{n} 字节尚未发出',
  'in.heartbeatIs': '{next} 秒后发 ping · {heard} 秒前收到数据 · 看门狗 {deadline} 秒后到期',
  'in.close': '{code} {reason}：{meaning}',
  'in.noReason': '（无原因）',
  'ws.publish': '通过这个 WebSocket 发送',
  'ws.send': '发送一帧',
  'ws.acked': '同一连接上收到确认：编号 {id}，ref {ref}，用时 {ms}。',
  'messages': '消息（最新在前）',
  'explain': '原理、开销、失效场景、何时选用',
  'missed': '丢失 {n} 条消息：早于服务器保留的范围。从其保留的最早一条继续。',
  'reset': '重置：服务器已重启，消息 id 从头开始（新的纪元）。从其第一条消息继续。',
  'watchdog': '看门狗：没有任何活动迹象，正在重连。',
  'resent': '切断：服务器在 {s} 秒后关闭了挂起的请求，没有应答。浏览器自行重发了它（HTTP/1.1 允许客户端重发在应答前就被关闭的长连接上的请求），游标不变：since={cursor} epoch={epoch}。',

  'how': '工作原理',
  'cost': '每条消息的开销',
  'breaks': '什么会让它失效',
  'pick': '何时选用',

  'explain.poll.how': '客户端每隔几秒问一次“我的游标之后有新消息吗？”，服务器立即应答，常常是空的。应答中的 next 就是下一次请求的游标。',
  'explain.poll.cost': '每次轮询（而不是每条消息）都是一次完整的 HTTP 请求和响应，几百字节的头部。消息流安静时大多数轮询都是空的：见“空响应”计数。平均延迟为间隔的一半。',
  'explain.poll.breaks': '几乎没有：所有代理、缓存和防火墙都放行短请求，也没有长期保持的连接可被切断。它的弱点是浪费和延迟，而不是脆弱。',
  'explain.poll.pick': '允许晚几秒的更新、客户端很少，或其他方式都无法通过的网络。兜底中的兜底。',
  'explain.longpoll.how': '客户端请求其游标之后的消息，服务器挂起请求，直到有新消息或超时。客户端随即再次请求，所以服务器端几乎总有一个请求在等待。',
  'explain.longpoll.cost': '仍然是完整的请求和响应，但按消息（或按批）计算而不是按轮询间隔，消息流安静时每次超时多一个空响应。',
  'explain.longpoll.breaks': '读取超时短于挂起时间的代理（应保持在 60 秒以下），以及浏览器每个主机六个连接的限制：每个等待中的请求占用一个。',
  'explain.longpoll.pick': '不允许流式传输时的近实时推送，或作为 SSE 和 WebSocket 的后备方案。',
  'explain.sse.how': '一个永不结束的 HTTP 响应：服务器把每条消息写成带 id 的事件，id 为 纪元:编号（服务器重启、id 从头开始时纪元会变）。浏览器的 EventSource 会自行重连，并把最后的 id 作为 Last-Event-ID 发送，续传是内建的。',
  'explain.sse.cost': '每个连接一次头部，之后每条消息约 20 到 30 字节（“id:”、“data:”、空行、分块编码）。每 {keepalive} 秒一个“: ping”注释，防止代理关闭空闲的流。',
  'explain.sse.breaks': '缓冲响应的代理、空闲超时，以及 HTTP/1.1 每个主机六个连接的限制：每个标签页占用一个流。它是单向的；客户端用普通 POST 发送消息。',
  'explain.sse.pick': '服务器到客户端的消息流（通知、行情、日志、进度），纯 HTTP 和自动续传比反向通道更重要时。',
  'explain.ws.how': 'HTTP 请求“升级”为双向的帧连接。每条消息发布的瞬间，服务器就把它作为一帧发出。浏览器不做任何续传：客户端自己保存游标和服务器的纪元（重启后会变），用 ?since=&epoch= 重连。',
  'explain.ws.cost': '小消息的帧头只有 2 字节（64 KiB 以内 4 字节）；握手只付一次。按每条消息计算是最便宜的。',
  'explain.ws.breaks': '不转发 Upgrade 的代理、空闲超时（所以需要心跳），以及 TCP 察觉不到的失效连接（所以需要 ping 和看门狗）。服务器必须检查 Origin。',
  'explain.ws.pick': '双向且低延迟（聊天、游戏、协同编辑），或每个客户端每秒很多条消息。',

  'compare': '四种方式对比',
  'compareNote': '开销和延迟为实时测量：开销是最近 {window} 秒内服务器套接字上每送达一条消息的字节数减去消息本身（该服务器的所有客户端；空轮询、握手和心跳也计入）；延迟是本标签页的中位数。',
  'compareScroll': '表格比屏幕宽：请左右滑动查看。',
  'col.transport': '传输方式',
  'col.direction': '方向',
  'col.overhead': '每条消息的开销（实时）',
  'col.latency': '延迟 p50（实时）',
  'col.proxies': '代理与空闲超时',
  'col.sixConn': 'HTTP/1.1：每主机六个连接',
  'col.support': '浏览器支持',
  'cmp.poll.direction': '客户端拉取；用 POST 发送',
  'cmp.poll.proxies': '全部放行；没有会空闲超时的连接',
  'cmp.poll.sixConn': '不长期占用：每次轮询短暂借用一个',
  'cmp.poll.support': '全部（fetch）',
  'cmp.longpoll.direction': '服务器到客户端（挂起的请求）；用 POST 发送',
  'cmp.longpoll.proxies': '读取超时会切断挂起的请求；挂起时间应低于 60 秒',
  'cmp.longpoll.sixConn': '每个标签页占用一个',
  'cmp.longpoll.support': '全部（fetch）',
  'cmp.sse.direction': '服务器到客户端；用 POST 发送',
  'cmp.sse.proxies': '缓冲型代理会卡住它；需要 ping 应对空闲超时',
  'cmp.sse.sixConn': '每个标签页占用一个（HTTP/2 下不受限）',
  'cmp.sse.support': '所有现代浏览器（EventSource）',
  'cmp.ws.direction': '同一连接上双向',
  'cmp.ws.proxies': '每个代理都须转发 Upgrade；需要 ping 应对空闲超时',
  'cmp.ws.sixConn': '不计入：浏览器单独管理 WebSocket 连接',
  'cmp.ws.support': '所有现代浏览器（WebSocket）',

  'limit.stuck': '本标签页似乎卡在了浏览器每个主机六个连接的限制（HTTP/1.1）上：一个请求已在浏览器自己的队列里等了 {s} 秒，而 WebSocket 一切正常。本页的其他标签页保持着连接（每个 SSE 流和每个等待中的长轮询各占一个）。关闭一个标签页，或改用没有此限制的 HTTP/2。',
  'limit.slot': '本页的其他标签页占用了本标签页的 SSE 流或长轮询所需的连接。浏览器到同一主机最多开六个 HTTP/1.1 连接，由所有标签页共享；本页只让长期挂起的请求使用其中四个，保证短请求永不卡住，面板则等待空闲连接。关闭或隐藏另一个标签页，它就会从游标处继续。',
  'footer': 'fourway：一个 Go 服务器，四种传输方式，一个游标。“服务器”一栏的计数来自 /api/stats，在服务器的套接字上统计（包括头部和帧）。',
  'config.failed': '本页无法读取服务器的设置（GET /api/config：{error}）。页面不会猜测这些设置，因此四个客户端都在等待。',
  'config.retry': '{s} 秒后重试。',
};

const tables = { en, zh };
let current = 'en';

// lang is the current language code: "en" or "zh".
export function lang() { return current; }

// setLang switches the language and fills in the page's fixed text.
export function setLang(code) {
  current = code in tables ? code : 'en';
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  apply(document);
}

// defaultLang is the reader's choice from last time, else the browser's.
export function defaultLang() {
  const saved = localStorage.getItem('fourway.lang');
  if (saved in tables) return saved;
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

// facts are the figures that texts quote: the server's {keepalive} (s),
// from GET /api/config, "…" until it is read, and the page's cost {window}.
let facts = { keepalive: '…', window: '…' };

// setFacts takes figures (some or all) and fills the page's text again.
export function setFacts(f) {
  facts = { ...facts, ...f };
  apply(document);
}

// untranslated lists the keys that lang has no text for, English has.
export function untranslated(lang) {
  return Object.keys(en).filter(k => !(k in tables[lang]));
}

// t returns the text for key, with {name} replaced by params.name, or by
// the server's figure of that name.
export function t(key, params = {}) {
  return fill(tables[current][key] ?? en[key] ?? key, params);
}

// tOr is t for a key that may have no text of ours: then the text is
// fallback (the server's own words).
export function tOr(key, fallback, params = {}) {
  return fill(tables[current][key] ?? en[key] ?? fallback, params);
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? facts[k] ?? ''));
}

// apply fills in every data-i18n element under root.
export function apply(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
