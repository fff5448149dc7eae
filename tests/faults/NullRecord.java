// An LMS on the Java client sends a record with neither key nor value (kafka-python refuses to send
// one, the Java client does not): java -cp "$KAFKA_HOME/libs/*" NullRecord.java <bootstrap> <topic> <marker>
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class NullRecord {
    public static void main(String[] args) throws Exception {
        Properties settings = new Properties();
        settings.put("bootstrap.servers", args[0]);
        settings.put("key.serializer", ByteArraySerializer.class.getName());
        settings.put("value.serializer", ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings)) {
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(args[1], 0, null, null);
            record.headers().add("x-fault-marker", args[2].getBytes());
            producer.send(record).get();
        }
    }
}
