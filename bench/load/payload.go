package load

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// A payload kind (plan.PayloadKinds) is data shaped like what an
// application publishes, so that compression meets what it would meet in
// use: padding of one repeated byte shrinks to almost nothing, random
// bytes not at all, and neither is a message. Each message of a kind is
// made from its seq alone (a generator seeded with it), so a run publishes
// the same bytes every time; messages differ from one another as real
// ones do (other words, other numbers) but share their field names and
// vocabulary, which is what a compressor that keeps its context across
// messages (an SSE stream's gzip, a WebSocket with context takeover)
// gains from. Every kind starts {"seq":N,"t":T, like stampData's, and is
// exactly its size.
//
// What gzip -6 (compress/gzip's default level) makes of each, one message
// alone, over seqs 0 to 99 (TestPayloadKinds holds these):
//
//	json256  a chat message (room, user, a sentence)        256 B to about 82 %
//	json4k   a dashboard update (34 hosts' figures, a note)  4,096 B to about 25 %
//	text32k  a document (a title, prose)                     32,768 B to about 40 %

// payloadData is the data of message seq of a payload kind, stamped with t.
func payloadData(kind string, seq, t int64, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(seq), 0x666f7572776179))
	b := make([]byte, 0, size)
	b = append(b, seqKey...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, tKey...)
	b = strconv.AppendInt(b, t, 10)
	switch kind {
	case "json256":
		b = chatMessage(b, r)
	case "json4k":
		b = dashboardUpdate(b, r, size)
	case "text32k":
		b = fmt.Appendf(b, `,"title":"%s","text":"`, strings.TrimSuffix(sentence(r, 3, 7), "."))
	default:
		panic("payloadData: no payload kind " + kind) // plan refuses unknown kinds
	}
	return fill(b, r, size)
}

// chatMessage appends the fields of a chat message, its text open.
func chatMessage(b []byte, r *rand.Rand) []byte {
	return fmt.Appendf(b, `,"type":"chat","room":"%s","user":{"id":%d,"name":"%s"},"reply_to":%d,"text":"`,
		rooms[r.IntN(len(rooms))], 1000+r.IntN(9000), names[r.IntN(len(names))], r.Int64N(1e6))
}

// dashboardUpdate appends a dashboard's rows, one per host, the same hosts
// in every update with new figures, and opens a closing note: as many rows
// as leave room for the note in size.
func dashboardUpdate(b []byte, r *rand.Rand, size int) []byte {
	b = append(b, `,"type":"dashboard","panel":"fleet","hosts":[`...)
	for i := 0; len(b) < size-300; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		status := "ok"
		if r.IntN(10) == 0 {
			status = "degraded"
		}
		b = fmt.Appendf(b, `{"host":"%s-%02d","region":"%s","cpu":%.1f,"mem":%.1f,"rps":%d,"p50_ms":%d,"p99_ms":%d,"status":"%s"}`,
			roles[i%len(roles)], i/len(roles)+1, regions[i%len(regions)], r.Float64()*100, 20+r.Float64()*70, r.IntN(5000), 2+r.IntN(20), 40+r.IntN(400), status)
	}
	return append(b, `],"note":"`...)
}

// fill writes sentences into the open string that ends b until b is
// size bytes with the string and the object closed.
func fill(b []byte, r *rand.Rand, size int) []byte {
	for len(b) < size-2 {
		b = append(b, sentence(r, 6, 18)...)
		b = append(b, ' ')
	}
	b = b[:size-2]
	return append(b, '"', '}')
}

// sentence is a sentence of lo to hi words from the vocabulary, capitalised,
// with a comma now and then and a full stop.
func sentence(r *rand.Rand, lo, hi int) string {
	n := lo + r.IntN(hi-lo+1)
	var s strings.Builder
	for i := range n {
		w := words[r.IntN(len(words))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			s.WriteByte(' ')
		}
		s.WriteString(w)
		if i > 0 && i < n-1 && r.IntN(8) == 0 {
			s.WriteByte(',')
		}
	}
	s.WriteByte('.')
	return s.String()
}

var (
	rooms   = []string{"general", "random", "support", "deploys", "design", "incidents", "sales", "ops"}
	names   = []string{"ana", "bo", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kwame", "lena", "marco", "nia", "omar", "priya"}
	roles   = []string{"web", "api", "db", "cache", "queue", "worker", "search", "edge"}
	regions = []string{"eu-west-1", "us-east-1", "ap-south-1", "eu-central-1"}
	words   = strings.Fields(`the of and to a in is it you that he was for on are with as
		his they be at one have this from or had by word but what some we can out other were
		all there when up use your how said an each she which do their time if will way about
		many then them write would like so these her long make thing see him two has look more
		day could go come did number sound no most people my over know water than call first
		who may down side been now find any new work part take get place made live where after
		back little only round man year came show every good me give our under name very through
		just form sentence great think say help low line differ turn cause much mean before move
		right boy old too same tell does set three want air well also play small end put home
		read hand port large spell add even land here must big high such follow act why ask men
		change went light kind off need house picture try us again animal point mother world near
		build self earth father head stand own page should country found answer school grow study
		still learn plant cover food sun four between state keep eye never last let thought city
		tree cross farm hard start might story saw far sea draw left late run while press close
		night real life few north open seem together next white children begin got walk example
		ease paper group always music those both mark often letter until mile river car feet care
		second book carry took science eat room friend began idea fish mountain stop once base hear
		horse cut sure watch color face wood main enough plain girl usual young ready above ever
		red list though feel talk bird soon body dog family direct pose leave song measure door
		product black short numeral class wind question happen complete ship area half rock order
		fire south problem piece told knew pass since top whole king space heard best hour better
		true during hundred five remember step early hold west ground interest reach fast verb
		sing listen six table travel less morning ten simple several vowel toward war lay against
		pattern slow center love person money serve appear road map rain rule govern pull cold
		notice voice unit power town fine certain fly fall lead cry dark machine note wait plan
		figure star box noun field rest correct able pound done beauty drive stood contain front
		teach week final gave green oh quick develop ocean warm free minute strong special mind
		behind clear tail produce fact street inch multiply nothing course stay wheel full force
		blue object decide surface deep moon island foot system busy test record boat common gold`)
)
